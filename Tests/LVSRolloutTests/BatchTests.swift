import Testing

@testable import LVSRollout

@Suite struct BatchTests {
    static func d(_ name: String, pair: String? = nil, role: PairRole? = nil, labels: [String: String] = [:]) -> Inventory.Director {
        Inventory.Director(name: name, ssh: "root@\(name)", pair: pair, role: role, labels: labels)
    }

    static let fleet = Inventory(directors: [
        d("d1", pair: "p1", role: .master, labels: ["site": "a"]), d("d2", pair: "p1", role: .backup, labels: ["site": "a"]),
        d("d3", labels: ["site": "b"]), d("d4", labels: ["site": "b"]),
    ])

    @Test(arguments: [
        (["d1"], ["d1"]), (["d1,d3"], ["d1", "d3"]), (["d*"], ["d1", "d2", "d3", "d4"]), (["site=b"], ["d3", "d4"]),
        (["pair=p1"], ["d1", "d2"]), (["site=a,d4"], ["d1", "d2", "d4"]), (["d?", "site=b"], ["d3", "d4"]),
        ([], ["d1", "d2", "d3", "d4"]),
    ] as [([String], [String])])
    func selection(_ limits: [String], _ expected: [String]) throws {
        #expect(try Selection.select(Self.fleet, limits: limits).map(\.name) == expected)
    }

    @Test(arguments: [["d9"], ["site=c"], ["d1,"], ["d1", "d3"]])
    func selectionThatSelectsNothingIsAnError(_ limits: [String]) {
        #expect(throws: SelectionError.self) { try Selection.select(Self.fleet, limits: limits) }
    }

    @Test(arguments: [
        ("1,25%,100%", 8, [1, 2, 5]), ("1", 3, [1, 1, 1]), ("2", 5, [2, 2, 1]), ("100%", 4, [4]), ("1,1,2", 4, [1, 1, 2]),
        ("10%", 5, [1, 1, 1, 1, 1]), ("50%", 4, [2, 2]), ("3,100%", 2, [2]),
    ] as [(String, Int, [Int])])
    func batchSizes(_ spec: String, _ n: Int, _ sizes: [Int]) throws {
        let directors = (1...n).map { Self.d("x\($0)") }
        let batches = BatchPlanner.batches(directors, spec: try BatchSpec.parse(spec))
        #expect(batches.map(\.count) == sizes)
        #expect(batches.flatMap { $0 }.map(\.name) == directors.map(\.name), "order kept, nobody lost")
    }

    @Test(arguments: ["0", "abc", "150%", "0%", "1,,2", "", "-1", "nan%"])
    func badBatchSpecs(_ spec: String) {
        #expect(throws: SelectionError.self) { try BatchSpec.parse(spec) }
    }

    @Test func theBackupGoesFirst() {
        let ordered = BatchPlanner.order(Self.fleet.directors, roles: [:])
        #expect(ordered.map(\.name) == ["d2", "d1", "d3", "d4"])
    }

    @Test func liveRolesWinOverTheInventory() {
        let ordered = BatchPlanner.order(Self.fleet.directors, roles: ["d1": .backup, "d2": .master])
        #expect(ordered.map(\.name) == ["d1", "d2", "d3", "d4"])
    }

    @Test func unknownRolesKeepInventoryOrder() {
        let fleet = [Self.d("a", pair: "p"), Self.d("x"), Self.d("b", pair: "p")]
        #expect(BatchPlanner.order(fleet, roles: [:]).map(\.name) == ["a", "x", "b"])
        #expect(BatchPlanner.order(fleet, roles: ["a": .master]).map(\.name) == ["b", "x", "a"])
    }

    /// Never both members of a pair in one batch, and the backup's batch comes first.
    @Test(arguments: ["100%", "1,1,2", "2", "1,100%", "50%", "3"])
    func neverBothMembersOfAPairInOneBatch(_ spec: String) throws {
        let fleet = [
            Self.d("a1", pair: "a", role: .master), Self.d("a2", pair: "a", role: .backup), Self.d("s1"),
            Self.d("b1", pair: "b", role: .backup), Self.d("b2", pair: "b", role: .master), Self.d("s2"), Self.d("s3"),
        ]
        let ordered = BatchPlanner.order(fleet, roles: [:])
        let batches = BatchPlanner.batches(ordered, spec: try BatchSpec.parse(spec))
        #expect(Set(batches.flatMap { $0 }.map(\.name)) == Set(fleet.map(\.name)))
        var batchOf: [String: Int] = [:]
        for (k, b) in batches.enumerated() {
            let pairs = b.compactMap(\.pair)
            #expect(Set(pairs).count == pairs.count, "batch \(k) of \(spec): \(b.map(\.name))")
            for d in b { batchOf[d.name] = k }
        }
        #expect(batchOf["a2"]! < batchOf["a1"]!)
        #expect(batchOf["b1"]! < batchOf["b2"]!)
    }

    @Test func aFullBatchDefersTheMasterAndKeepsItsSize() throws {
        let ordered = BatchPlanner.order(Self.fleet.directors, roles: [:])
        let batches = BatchPlanner.batches(ordered, spec: try BatchSpec.parse("100%"))
        #expect(batches.map { $0.map(\.name) } == [["d2", "d3", "d4"], ["d1"]])
        let serial = BatchPlanner.batches(ordered, spec: try BatchSpec.parse("1,1,2"))
        #expect(serial.map { $0.map(\.name) } == [["d2"], ["d1"], ["d3", "d4"]])
    }
}
