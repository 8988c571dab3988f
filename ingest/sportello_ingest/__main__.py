from sportello.cli import main
from sportello_ingest.component import COMPONENT

main([COMPONENT])
