"""What a student's terminal reaches: `python3 probe.py HOST:PORT...` prints
one line per target: open, or the error (EHOSTUNREACH: refused by the firewall)."""

import errno
import socket
import sys

for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    connection = socket.socket()
    connection.settimeout(5)
    try:
        connection.connect((host, int(port)))
        result = "open"
    except socket.gaierror:
        result = "unresolved"
    except TimeoutError:
        result = "timeout"
    except OSError as error:
        result = errno.errorcode.get(error.errno, str(error))
    finally:
        connection.close()
    print(f"probe {target} {result}")
