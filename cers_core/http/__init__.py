"""What both of our HTTP clients share: the OneRoster client and the CERS import client.

- :mod:`cers_core.http.oauth`: OAuth 2 bearer tokens, one ``httpx.Auth`` for both grants we use;
- :mod:`cers_core.http.tls`: the TLS settings of every client, made once per process;
- :mod:`cers_core.http.retry`: when and how long to wait before asking a busy server again;
- :mod:`cers_core.http.error_bodies`: a short, plain summary of a server's error answer;
- :mod:`cers_core.http.together`: requests side by side, all stopped when one fails for good;
- :mod:`cers_core.http.sync`: running the async clients from synchronous code.
"""
