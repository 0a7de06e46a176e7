"""``spillway.v1``: generated message and service code; never edit the ``*_pb2*`` files."""
