import LVSCommands

LVSCommand.run()
