import Foundation
import LVSManifest
import LVSModel

/// Parses manifest text held in a test.
func parse(_ text: String, capabilities: KernelCapabilities? = nil) -> ManifestResult {
    Manifest.parse(Array(text.utf8), file: "test.json", capabilities: capabilities)
}

/// A manifest whose `services` array holds `services`; the first line of `services` is line 4.
func doc(_ services: String, settings: String? = nil) -> String {
    var s = "{\n  \"apiVersion\": \"lvsctl/v1\", \"name\": \"t\",\n  \"services\": [\n"
    s += services + "\n  ]"
    if let settings { s += ",\n  \"settings\": " + settings }
    return s + "\n}\n"
}

/// One TCP service on 10.0.0.1:80 named `s` with `extra` members and the given real servers.
func svc(_ extra: String = "", rs: String = #"{"address": "10.0.0.2"}"#, port: Int = 80) -> String {
    let more = extra.isEmpty ? "" : extra + ", "
    return #"{"name": "s", "protocol": "tcp", "address": "10.0.0.1", "port": \#(port), \#(more)"realServers": [\#(rs)]}"#
}

/// The repository's Manifests/ directory.
let manifestsDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(3)  // Tests/LVSManifestTests/Support.swift
    return parts.joined(separator: "/") + "/Manifests"
}()

func manifestFiles() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: manifestsDirectory)) ?? []
    return names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") }.sorted()
}

/// Deterministic pseudo-random numbers for the fuzz tests (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
