from sportello.cli import main
from sportello_assignment.component import COMPONENT

main([COMPONENT])
