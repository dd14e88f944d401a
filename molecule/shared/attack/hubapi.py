"""What the server's own token may do at the hub: `python3 hubapi.py PATH...`
prints the HTTP status of a GET of each path of the hub's API."""

import os
import sys
import urllib.error
import urllib.request

for path in sys.argv[1:]:
    request = urllib.request.Request(
        os.environ["JUPYTERHUB_API_URL"] + path,
        headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    print(f"hubapi {path} {status}")
