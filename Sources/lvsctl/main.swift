import LVSCommands

await LVSCommand.run()
