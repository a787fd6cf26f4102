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
        BirdPaths(
            config: optionOrVariable(birdConfig, "LVSCTL_BIRD_CONFIG", default: BirdPaths.defaultConfig, environment: environment),
            socket: socket.path(environment: environment))
    }

    func validate() throws {
        try requireAbsolutePaths([(birdConfig, "--bird-config")])
    }
}

/// BIRD's control socket: `run` reconfigures BIRD through it, `status` asks it for the sessions.
struct BirdSocketOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "BIRD's control socket (default: $LVSCTL_BIRD_SOCKET, else /run/bird/bird.ctl).", valueName: "path"))
    var birdSocket: String?

    func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        optionOrVariable(birdSocket, "LVSCTL_BIRD_SOCKET", default: BirdControl.defaultSocket, environment: environment)
    }

    func validate() throws {
        try requireAbsolutePaths([(birdSocket, "--bird-socket")])
    }
}
