"""Priority's offline commands: score (JSON lines in, JSON lines out), train and eval."""

from sportello_priority.commands.score import COMMAND as SCORE

COMMANDS = [SCORE]
