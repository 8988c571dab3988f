from sportello.cli import main
from sportello_priority.component import COMPONENT

main([COMPONENT])
