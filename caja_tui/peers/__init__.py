"""The shop's tills on the LAN (PROTOCOL.md "Peers on the shop's LAN", "Relay"; ARCHITECTURE.md "Peers and the
store hub"): each till's sync process serves its store's events to the others (serve.py), finds them (static
addresses, mDNS), pulls what it lacks by device and seq (gossip.py), and whichever till reaches the server
first pushes what the others made (relay.py). Requests are signed with the device keys (auth.py); everything
received goes through the same event check and projections as a pull from the server."""
