from sportello.cli import main
from sportello_priority.commands import COMMANDS
from sportello_priority.component import COMPONENT

main([COMPONENT], commands_extra=COMMANDS)
