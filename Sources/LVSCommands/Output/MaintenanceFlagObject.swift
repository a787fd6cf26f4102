import Foundation
import LVSModel
import LVSStore

/// A maintenance flag (`lvsctl drain`) as every machine format writes it: in `status` and in the
/// director state (`export -o state`); `maintenanceFlag` in lvsctl-objects-v1.schema.json.
struct MaintenanceFlagObject: Codable {
    var flag: MaintenanceFlag
    init(_ flag: MaintenanceFlag) { self.flag = flag }
    enum CodingKeys: String, CodingKey { case service, realServer, reason, author, since }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(flag.service, forKey: .service)
        try c.encodeIfPresent(flag.realServer, forKey: .realServer)
        try c.encodeIfPresent(flag.reason, forKey: .reason)
        try c.encode(flag.author, forKey: .author)
        try c.encode(flag.since, forKey: .since)
    }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        flag = MaintenanceFlag(
            service: try c.decode(VirtualService.ID.self, forKey: .service),
            realServer: try c.decodeIfPresent(RealServer.ID.self, forKey: .realServer),
            reason: try c.decodeIfPresent(String.self, forKey: .reason), author: try c.decode(String.self, forKey: .author),
            since: try c.decode(Date.self, forKey: .since))
    }
}
