"""What devserver announces itself as: the nats-server release and JetStream API level it follows.

A leaf module, so the server, monitoring and JetStream layers can all read it without importing
one another.
"""

VERSION = "2.15.1"  # the nats-server release whose client-visible behaviour we follow
API_LEVEL = 5  # 2.15's: TTLs, pause and priority groups (1), counters, atomic batches and
# schedules (2), snapshot window_size (3), fast batches (4), recreated origins detected (5)
GO_VERSION = "go1.22.8"
