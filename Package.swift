// swift-tools-version:6.2
//
// lvsctl — a declarative reconciler for Linux IPVS.
//
// The data flow reads from the target list, top to bottom:
//   manifest (LVSManifest) → store (LVSStore) → plan (LVSPlan) → kernel port (LVSKernel)
//   → netlink adapter (LVSNetlink, the only target that touches C) → audit (LVSStore)
// LVSApply runs a plan against any IPVSKernel; LVSCommands is the CLI; `lvsctl` is a thin @main.
import PackageDescription

let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "lvsctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lvsctl", targets: ["lvsctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // ① Vocabulary: services, real servers, addresses, the IPVS table. Pure, stdlib only.
        .target(name: "LVSModel", swiftSettings: strictness),

        // ② Manifests: JSON with source positions → validated model, with path diagnostics.
        .target(name: "LVSManifest", dependencies: ["LVSModel"], swiftSettings: strictness),

        // ② Interop formats: ipvsadm -S text (export and import), keepalived.conf import.
        .target(name: "LVSInterop", dependencies: ["LVSModel"], swiftSettings: strictness),

        // ② The VRRP half of a director pair: the keepalived (VRRP-only) config rendered from a
        // manifest's `vrrp` section, and keepalived's notify FIFO lines. Pure.
        .target(name: "LVSVRRP", dependencies: ["LVSModel"], swiftSettings: strictness),

        // ② The BGP half of an ECMP site: the BIRD 2 config rendered from a manifest's `bgp`
        // section, the pure announce/drain/withdraw decision, and BIRD's control through birdc.
        .target(name: "LVSBGP", dependencies: ["LVSModel", "LVSSocket"], swiftSettings: strictness),

        // ③ Store: revisions, ownership, audit, drains in SQLite; schema from Migrations/*.sql.
        .plugin(
            name: "EmbedMigrations", capability: .buildTool(),
            path: "Sources/EmbedMigrationsPlugin"),
        .target(
            name: "LVSStore",
            dependencies: ["LVSModel", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictness,
            plugins: ["EmbedMigrations"]),

        // ④ Plan: the pure diff of desired against live.
        .target(name: "LVSPlan", dependencies: ["LVSModel"], swiftSettings: strictness),

        // ⑤ Kernel port: the IPVS table as a Swift protocol, plus an in-memory kernel for tests.
        .target(name: "LVSKernel", dependencies: ["LVSModel"], swiftSettings: strictness),

        // ⑤ Netlink adapter: IPVSKernel over libnl-3 / libnl-genl-3. Only this imports C.
        .systemLibrary(
            name: "CNetlink", path: "Sources/CNetlink", pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev"])]),
        .target(
            name: "LVSNetlink", dependencies: ["LVSKernel", "LVSModel", "CNetlink"],
            swiftSettings: strictness),

        // Real-server side of DR and TUN (`lvsctl realserver`): VIPs, ARP and rp_filter sysctls,
        // recorded so `down` undoes exactly what `up` did. Reaches rtnetlink through LVSNetlink.
        .target(
            name: "LVSRealServer", dependencies: ["LVSModel", "LVSNetlink"], swiftSettings: strictness),

        // ⑥ Apply: run a plan against an IPVSKernel, undo on failure, emit audit events.
        .target(
            name: "LVSApply", dependencies: ["LVSPlan", "LVSKernel", "LVSModel"],
            swiftSettings: strictness),

        // ⑦ Reconcile: the whole pass (applied revisions → overlay of health and maintenance →
        // plan → drift → apply by cause → audit), shared by every write path of the CLI and the daemon.
        .target(
            name: "LVSReconciler",
            dependencies: [
                "LVSModel", "LVSManifest", "LVSStore", "LVSPlan", "LVSKernel", "LVSApply", "LVSHealth", "LVSNotify",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),

        // Deadline-bound blocking TCP sockets, shared by the health probes and the SMTP sink.
        .target(
            name: "LVSSocket",
            dependencies: [
                "LVSModel",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictness),

        // Health checks (tcp, http, https, exec) with keepalived's semantics, and the pure
        // overlay of health state onto desired weights. https goes through SwiftNIO + NIOSSL
        // (BoringSSL): URLSession on Linux cannot skip certificate verification.
        .target(
            name: "LVSHealth",
            dependencies: [
                "LVSModel", "LVSSocket", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),

        // Notifications on state change: exec hook, HTTP webhook, SMTP mail.
        .target(
            name: "LVSNotify",
            dependencies: ["LVSModel", "LVSSocket", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictness),

        // ⑧ The daemon (`lvsctl run`): its services only (the loop around LVSReconciler's pass,
        // health monitor, store watch, notifications, metrics).
        .target(
            name: "LVSDaemon",
            dependencies: [
                "LVSModel", "LVSManifest", "LVSStore", "LVSKernel", "LVSReconciler", "LVSHealth", "LVSNotify", "LVSVRRP", "LVSBGP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictness),

        // Rollout to a fleet of directors (`lvsctl rollout`): the inventory, selection, pair-aware
        // batches, the state machine with its gates and rollback, and the report. The pure parts are
        // table-tested; the remote side is reached through the system's OpenSSH client.
        .target(
            name: "LVSRollout", dependencies: ["LVSModel", "LVSManifest", "LVSPlan"], swiftSettings: strictness),

        // ⑦ The CLI and its renderers.
        .target(
            name: "LVSCommands",
            dependencies: [
                "LVSModel", "LVSManifest", "LVSInterop", "LVSStore", "LVSPlan", "LVSKernel",
                "LVSNetlink", "LVSRealServer", "LVSApply", "LVSReconciler", "LVSHealth", "LVSSocket", "LVSDaemon", "LVSVRRP", "LVSNotify", "LVSBGP",
                "LVSRollout",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .executableTarget(
            name: "lvsctl", dependencies: ["LVSCommands"], exclude: ["systemd"], swiftSettings: strictness),

        // Shared test helpers: the kernel contract suite, fixtures, process runner.
        .target(
            name: "LVSTestSupport", dependencies: ["LVSModel", "LVSKernel"],
            path: "Tests/LVSTestSupport", swiftSettings: strictness),

        // Unit tests: run on any host, no kernel, no root.
        .testTarget(name: "LVSModelTests", dependencies: ["LVSModel"], swiftSettings: strictness),
        .testTarget(
            name: "LVSManifestTests", dependencies: ["LVSManifest", "LVSModel"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSInteropTests", dependencies: ["LVSInterop", "LVSManifest", "LVSModel", "LVSTestSupport", "LVSVRRP"], exclude: ["Fixtures"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSVRRPTests", dependencies: ["LVSVRRP", "LVSManifest", "LVSModel"], swiftSettings: strictness),
        .testTarget(name: "LVSBGPTests", dependencies: ["LVSBGP", "LVSManifest", "LVSModel"], swiftSettings: strictness),
        .testTarget(
            name: "LVSStoreTests", dependencies: ["LVSStore", "LVSModel", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSPlanTests", dependencies: ["LVSPlan", "LVSModel"], swiftSettings: strictness),
        .testTarget(
            name: "LVSKernelTests", dependencies: ["LVSKernel", "LVSModel", "LVSTestSupport"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSNetlinkTests", dependencies: ["LVSNetlink", "LVSKernel", "LVSModel"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSApplyTests",
            dependencies: ["LVSApply", "LVSPlan", "LVSKernel", "LVSModel"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSHealthTests", dependencies: ["LVSHealth", "LVSModel", "LVSTestSupport"], swiftSettings: strictness),
        .testTarget(
            name: "LVSNotifyTests", dependencies: ["LVSNotify", "LVSModel", "LVSTestSupport"], swiftSettings: strictness),
        .testTarget(
            name: "LVSReconcilerTests",
            dependencies: [
                "LVSReconciler", "LVSStore", "LVSPlan", "LVSKernel", "LVSManifest", "LVSModel", "LVSHealth", "LVSNotify",
            ],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSDaemonTests",
            dependencies: [
                "LVSDaemon", "LVSReconciler", "LVSStore", "LVSPlan", "LVSKernel", "LVSManifest", "LVSModel",
                "LVSHealth", "LVSNotify", "LVSVRRP", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSCommandsTests",
            dependencies: [
                "LVSCommands", "LVSTestSupport", "LVSManifest", "LVSModel", "LVSPlan", "LVSStore", "LVSRealServer", "LVSReconciler",
                "LVSRollout", "LVSBGP",
            ],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSRolloutTests", dependencies: ["LVSRollout", "LVSManifest", "LVSPlan", "LVSModel"],
            swiftSettings: strictness),
        .testTarget(
            name: "LVSRealServerTests", dependencies: ["LVSRealServer", "LVSNetlink", "LVSModel"],
            swiftSettings: strictness),

        // Real-kernel tests: run only inside the lab guest (or on a host with IPVS, as root).
        // `make test` runs them there and fails if none ran.
        .testTarget(
            name: "LVSRealKernelTests",
            dependencies: [
                "LVSNetlink", "LVSKernel", "LVSModel", "LVSInterop", "LVSTestSupport", "LVSStore",
                "LVSManifest", "LVSPlan", "LVSApply", "LVSVRRP",
            ],
            swiftSettings: strictness),
    ]
)
