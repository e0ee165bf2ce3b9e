"""``extapi sync``: apply an HR feed to a Totara-compatible server through its API.

Modules: :mod:`~extapi.hrsync.config` (the mapping file), :mod:`~extapi.hrsync.feed` (reading
rows), :mod:`~extapi.hrsync.server` (reading the server), :mod:`~extapi.hrsync.plan` (the pure
diff), :mod:`~extapi.hrsync.apply` (sending it), :mod:`~extapi.hrsync.state` (the journal),
:mod:`~extapi.hrsync.report` and :mod:`~extapi.hrsync.runner` (one run). Needs ``httpx`` and
``rich`` (``pip install 'extapi[sync]'``).
"""
