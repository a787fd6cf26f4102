import Foundation
import LVSModel

@testable import LVSInterop

/// The directory holding the keepalived.conf and ipvsadm fixtures.
func fixturePath(_ name: String, filePath: String = #filePath) -> String {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

func v4(_ s: String) -> IPAddress {
    IPAddress(s) ?? .v4(0)
}

func kaImport(_ text: String) -> KeepalivedImport {
    KeepalivedImporter.importText(text, file: "/virtual/keepalived.conf", manifestName: "test")
}

extension KeepalivedImport {
    func service(_ id: String) -> ServiceSpec? {
        state?.services.first { $0.service.id.description == id }
    }
    func warnings(containing s: String) -> [Diagnostic] {
        diagnostics.warnings.filter { $0.message.contains(s) }
    }
}
