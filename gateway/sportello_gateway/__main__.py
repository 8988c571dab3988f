from sportello.cli import main
from sportello_gateway.component import COMPONENT

main([COMPONENT])
