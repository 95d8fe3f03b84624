"""Runs a command on a pseudo-terminal and relays what it draws to stdout.

The CLI's live display only appears when stderr is a terminal; the tests need a real one to see
it, and to type answers at its prompts. Usage: python3 pty-run.py COLUMNS COMMAND [ARGS...]. Exits with the command's exit code, and
forwards SIGINT/SIGTERM to it (Ctrl-C on a terminal).
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios

columns = int(sys.argv[1])
# The terminal's height: PTY_ROWS, else 60 (a test of a block taller than the screen sets it).
rows = int(os.environ.get("PTY_ROWS", "60"))
argv = sys.argv[2:]

pid, fd = pty.fork()
if pid == 0:
    # The child's stdin/stdout/stderr are the terminal: give it a size before the CLI starts.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    os.execvp(argv[0], argv)

for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))

# Relay the terminal's output to stdout, and our stdin (what the test "types") to the terminal.
inputs = [fd, sys.stdin.fileno()]
while True:
    try:
        ready, _, _ = select.select(inputs, [], [])
    except InterruptedError:
        continue
    if sys.stdin.fileno() in ready:
        typed = os.read(sys.stdin.fileno(), 4096)
        if typed:
            os.write(fd, typed)
        else:
            inputs.remove(sys.stdin.fileno())
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
