from sportello.cli import main
from sportello_crm_sync.component import COMPONENT

main([COMPONENT])
