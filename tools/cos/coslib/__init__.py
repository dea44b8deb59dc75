"""coslib: the implementation of the `cos` command-line tool.

Modules:
  common    paths, messages, errors, subprocess helpers
  packages  Debian package check and installation (`cos setup`)
  build     CMake configure/build (`cos init`, `cos build`)
  systems   composed systems under system_binaries/, composition (`cos compose`)
  console   serial console bridging between the terminal and an emulator
  escape    the console's Ctrl-A commands (Ctrl-A x, Ctrl-A h)
  steplog   quiet build/compose steps of `cos run`: one line each, output to a log
  outcome   how a run is judged (markers, exit statuses)
  qemu      QEMU command line, accelerator choice, result classification
  bochs     Bochs configuration, pty console, result classification
  run       `cos run` and `cos debug`
  bench     `cos bench ipc|fuzz`: benchmarks and long runs (not tests)
  testing   `cos test`
  completion  shell completion candidates (`cos __complete`, completion.bash)
  cli       argument parsing and dispatch
"""
