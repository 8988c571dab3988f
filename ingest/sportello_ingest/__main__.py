from sportello.cli import main
from sportello_ingest.component import COMPONENT
from sportello_ingest.replay import COMMAND as REPLAY

main([COMPONENT], commands_extra=[REPLAY])
