import Testing

@Suite struct PubSubPlaceholderTests {
    @Test func placeholder() { #expect(Bool(true)) }
}
