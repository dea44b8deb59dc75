"""The console escape sequence of `cos run` on an interactive terminal.

Every byte typed goes to the guest (Ctrl-C, Ctrl-Z and Ctrl-\\ included),
except Ctrl-A, which starts a two-key command as in QEMU's character-device
multiplexer (QEMU documentation, "Keys in the character backend
multiplexer"):

  Ctrl-A x        end the run (the emulator is stopped; exit status 130)
  Ctrl-A h        print this help
  Ctrl-A 1..8     passed on: the cos kernel gives console input to reader
                  1..8 (one per VMM, in the order they bound the console)
  Ctrl-A Ctrl-A   passed on: the cos kernel sends one Ctrl-A to the reader

Any other key after Ctrl-A is not sent; the caller says it is unknown.
(The kernel's console input has the same escape, kernel/console_input.hpp,
so the two Ctrl-A commands it knows are handed to it whole.)
"""

ESCAPE = 0x01  # Ctrl-A
QUIT = "quit"
HELP = "help"

HELP_TEXT = (
    "cos: console escapes (Ctrl-A, then a key):\n"
    "  Ctrl-A x       end the run (the emulator is stopped; exit status 130)\n"
    "  Ctrl-A h       this help\n"
    "  Ctrl-A 1..8    console input to VM (reader) 1..8, in the order they started\n"
    "  Ctrl-A Ctrl-A  send Ctrl-A to the guest\n"
    "  Ctrl-C, Ctrl-Z and Ctrl-\\ go to the guest.\n")


def key_name(byte):
    """A readable name for one typed byte: 'x', 'Ctrl-B', '0x7f'."""
    if 0x20 < byte < 0x7f:
        return chr(byte)
    if byte < 0x20:
        return "Ctrl-" + chr(byte + 0x40)
    return "0x%02x" % byte


class Unknown:
    """Ctrl-A followed by a key that is no command (`byte`)."""

    def __init__(self, byte):
        self.byte = byte

    def __eq__(self, other):
        return isinstance(other, Unknown) and other.byte == self.byte

    def __repr__(self):
        return "Unknown(%s)" % key_name(self.byte)


class EscapeDecoder:
    """Splits typed bytes into guest input and escape commands.

    `feed(data)` returns a list, in input order, of bytes objects (for the
    guest) and commands: QUIT, HELP or an Unknown. A Ctrl-A at the end of one
    chunk pairs with the first byte of the next. Nothing after QUIT is
    returned.
    """

    def __init__(self):
        self._armed = False  # the previous byte was a lone Ctrl-A

    def feed(self, data):
        events, plain = [], bytearray()
        for byte in data:
            if self._armed:
                self._armed = False
                if byte == ESCAPE or ord("1") <= byte <= ord("8"):
                    plain += bytes((ESCAPE, byte))  # the kernel's own commands
                    continue
                if plain:
                    events.append(bytes(plain))
                    plain = bytearray()
                if byte in (ord("x"), ord("X")):
                    events.append(QUIT)
                    return events
                events.append(HELP if byte in (ord("h"), ord("H"), ord("?")) else Unknown(byte))
            elif byte == ESCAPE:
                self._armed = True
            else:
                plain.append(byte)
        if plain:
            events.append(bytes(plain))
        return events
