"""Priority's offline commands: score (JSON lines in, JSON lines out), train and eval."""

from sportello_priority.commands.evaluate import COMMAND as EVAL
from sportello_priority.commands.score import COMMAND as SCORE
from sportello_priority.commands.train import COMMAND as TRAIN

COMMANDS = [SCORE, TRAIN, EVAL]
