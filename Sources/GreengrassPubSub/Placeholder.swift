// The local publish/subscribe IPC service lands here next.
