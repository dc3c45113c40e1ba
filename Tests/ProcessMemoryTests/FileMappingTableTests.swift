import Testing

@testable import ProcessMemory

private let smaps = """
    55d0c0000000-55d0c0400000 r--p 00000000 fd:01 131 /opt/gg/bin/greengrass-nucleus
    Size:               4096 kB
    Rss:                2048 kB
    Anonymous:             0 kB
    VmFlags: rd mr mw me sd
    55d0c0400000-55d0c1400000 r-xp 00400000 fd:01 131 /opt/gg/bin/greengrass-nucleus
    Size:              16384 kB
    Rss:               11313 kB
    Anonymous:             0 kB
    55d0c1400000-55d0c14b0000 r--p 01400000 fd:01 131 /opt/gg/bin/greengrass-nucleus
    Rss:                 689 kB
    Anonymous:           689 kB
    55d0c14b0000-55d0c14f0000 rw-p 014b0000 fd:01 131 /opt/gg/bin/greengrass-nucleus
    Rss:                 219 kB
    Anonymous:           215 kB
    55d0c2000000-55d0c2100000 rw-p 00000000 00:00 0 [heap]
    Rss:                  36 kB
    Anonymous:            36 kB
    7f0000000000-7f0000001000 r--s 00000000 fd:01 77 /var/gg/config/nucleus.db-shm
    Rss:                   4 kB
    Anonymous:             0 kB
    7f0000100000-7f0000180000 r-xp 00028000 fd:01 90 /usr/lib/x86_64-linux-gnu/libc.so.6
    Rss:                 1568 kB
    Anonymous:             0 kB
    7f0000200000-7f0000210000 r-xp 00000000 fd:01 91 /tmp/dir with space/lib.so
    Rss:                  64 kB
    Anonymous:             0 kB
    7f0000300000-7f0000301000 r-xp 00000000 00:00 0                          [vdso]
    Rss:                   4 kB
    Anonymous:             0 kB
    7f0000400000-7f0000410000 r-xp 00000000 fd:01 92 /usr/lib/x86_64-linux-gnu/libzip.so.4.0
    Rss:                  64 kB
    Anonymous:             0 kB
    7f0000500000-7f0000510000 r-xp 00000000 fd:01 93 /usr/lib/x86_64-linux-gnu/libdeleted.so (deleted)
    Rss:                  64 kB
    Anonymous:             0 kB

    """

private let startupFiles: Set<String> = [
    "/opt/gg/bin/greengrass-nucleus", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/tmp/dir with space/lib.so",
    "/var/gg/config/nucleus.db-shm", "/usr/lib/x86_64-linux-gnu/libdeleted.so",
]

@Suite struct FileMappingTableTests {
    @Test func parsesEveryFileMappingWithItsResidentAndCopiedKilobytes() {
        let mappings = FileMappingTable.parse(smaps: smaps)
        #expect(mappings.map(\.path) == [
            "/opt/gg/bin/greengrass-nucleus", "/opt/gg/bin/greengrass-nucleus", "/opt/gg/bin/greengrass-nucleus",
            "/opt/gg/bin/greengrass-nucleus", "/var/gg/config/nucleus.db-shm", "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/tmp/dir with space/lib.so", "/usr/lib/x86_64-linux-gnu/libzip.so.4.0",
            "/usr/lib/x86_64-linux-gnu/libdeleted.so (deleted)",
        ])
        #expect(mappings[1] == FileMapping(
            start: 0x55d0_c040_0000, end: 0x55d0_c140_0000, permissions: "r-xp", path: "/opt/gg/bin/greengrass-nucleus",
            residentKB: 11313, anonymousKB: 0))
        #expect(mappings[2].anonymousKB == 689)
        // The fields of a mapping without a file (here [heap], [vdso]) never land on the file mapping before it.
        #expect(mappings[3].anonymousKB == 215)
        #expect(mappings[6].residentKB == 64)
    }

    @Test func onlyCleanPrivateReadOnlyMappingsOfStartupFilesAreReturnable() {
        let returnable = FileMappingTable.parse(smaps: smaps).filter { $0.isReturnable(startupFiles: startupFiles) }
        // Headers and code of the executable, libc's code, the path with spaces. Not: relocated read-only data
        // (copied pages), writable data, a shared mapping, a library loaded after start-up, a replaced file.
        #expect(returnable.map(\.start) == [0x55d0_c000_0000, 0x55d0_c040_0000, 0x7f00_0010_0000, 0x7f00_0020_0000])
    }

    @Test func garbageAndTruncatedLinesAreSkipped() {
        let text = """
            zz-yy r-xp 0 0 0 /a
            Rss: 9 kB
            1000-2000 r-xp 00000000 fd:01 notanumber /b
            1000-2000 r-x 00000000 fd:01 5 /c
            3000-4000 r-xp 00000000 fd:01 6 /d
            Rss: lots kB
            Anonymous: 3 MB
            Rss:
            """
        let mappings = FileMappingTable.parse(smaps: text)
        #expect(mappings == [FileMapping(start: 0x3000, end: 0x4000, permissions: "r-xp", path: "/d", residentKB: 0, anonymousKB: 0)])
        #expect(!mappings[0].isReturnable(startupFiles: ["/d"]), "nothing resident reported: nothing to return")
        #expect(FileMappingTable.parse(smaps: "").isEmpty)
    }

    @Test func mappedFilesListsEachPathOnce() {
        #expect(FileMappingTable.mappedFiles(maps: smaps).count == 6)
    }

    @Test func aTracerIsRecognised() {
        #expect(IdlePages.isTraced(status: "Name:\tx\nTracerPid:\t4242\nUid:\t0\n"))
        #expect(!IdlePages.isTraced(status: "Name:\tx\nTracerPid:\t0\nUid:\t0\n"))
        #expect(!IdlePages.isTraced(status: ""))
    }
}
