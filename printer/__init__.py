"""The print agent of hangcho: prints a kiosk's queue tickets on an ESC/POS thermal printer.

layout  - the ticket drawn with Pillow and the shipped font, as ESC/POS bytes
device  - DEVICE strings, the python-escpos printer, its status
journal - the jobs already printed, so a restart never prints one twice
agent   - the Socket.IO client that receives, prints and acknowledges jobs
cli     - `python -m printer`

No Flask here: the agent runs beside the printer, often on the kiosk PC.
"""
