import LVSManifest
import Testing

@Suite struct ManifestNameTests {
    @Test func manifestNamesDerivedFromFileNames() {
        #expect(ManifestName.derived(fromPath: "/etc/keepalived/site-a.conf") == "site-a")
        #expect(ManifestName.derived(fromPath: "keepalived.conf") == "keepalived")
        #expect(ManifestName.derived(fromPath: "/tmp/My Site (old).conf") == "My-Site-old")
        #expect(ManifestName.derived(fromPath: "dump") == "dump")
        #expect(ManifestName.derived(fromPath: "-") == nil)
        #expect(ManifestName.derived(fromPath: "/x/.conf") == "conf")
        #expect(ManifestName.derived(fromPath: "/x/___.conf") == nil)
        #expect(ManifestName.derived(fromPath: String(repeating: "a", count: 100) + ".conf")?.count == 63)
    }

    @Test func theRuleIsTheDecodersRule() {
        #expect(ManifestName.isValid("web-1.a_b"))
        #expect(!ManifestName.isValid("-web"))
        #expect(!ManifestName.isValid(""))
        #expect(!ManifestName.isValid(String(repeating: "a", count: 64)))
        #expect(ManifestName.isValid(String(repeating: "a", count: 63)))
    }
}
