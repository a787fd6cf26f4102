import ArgumentParser
import Foundation
import LVSBGP

/// Where this director's BIRD lives, and what `run` does with its routes when it stops.
struct BirdOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The BIRD config lvsctl renders for a bgp section (default: $LVSCTL_BIRD_CONFIG, else /etc/lvsctl/bird.conf).",
        valueName: "path"))
    var birdConfig: String?

    @OptionGroup var socket: BirdSocketOption

    enum OnStop: String, ExpressibleByArgument, CaseIterable {
        case withdraw, leave
    }

    @Option(help: ArgumentHelp(
        "On SIGTERM: drain and withdraw this director's routes (withdraw), or leave them announced for a restart (leave).",
        valueName: "mode"))
    var bgpOnStop: OnStop = .withdraw

    func paths(environment: [String: String] = ProcessInfo.processInfo.environment) -> BirdPaths {
        func pick(_ option: String?, _ variable: String, _ fallback: String) -> String {
            if let option, !option.isEmpty { return option }
            if let value = environment[variable], !value.isEmpty { return value }
            return fallback
        }
        return BirdPaths(
            config: pick(birdConfig, "LVSCTL_BIRD_CONFIG", BirdPaths.defaultConfig),
            socket: socket.path(environment: environment))
    }

    func validate() throws {
        if let birdConfig, !birdConfig.hasPrefix("/") {
            throw ValidationError("--bird-config '\(birdConfig)' must be an absolute path")
        }
    }
}

/// BIRD's control socket: `run` reconfigures BIRD through it, `status` asks it for the sessions.
struct BirdSocketOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "BIRD's control socket (default: $LVSCTL_BIRD_SOCKET, else /run/bird/bird.ctl).", valueName: "path"))
    var birdSocket: String?

    func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let birdSocket, !birdSocket.isEmpty { return birdSocket }
        if let value = environment["LVSCTL_BIRD_SOCKET"], !value.isEmpty { return value }
        return BirdControl.defaultSocket
    }

    func validate() throws {
        if let birdSocket, !birdSocket.hasPrefix("/") {
            throw ValidationError("--bird-socket '\(birdSocket)' must be an absolute path")
        }
    }
}
