// 8250/16550 UART on COM1, polled output (the kernel console).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::x86::serial {

/// Programs COM1 (I/O 0x3f8) for 115200 baud, 8N1, FIFOs on, interrupts off.
void init();
/// Writes bytes, translating '\n' to "\r\n", waiting for THRE (LSR bit 5).
void write(const char* s, size_t len);
/// Waits until the transmitter is empty (LSR bit 6, TEMT): emulators that
/// model the baud rate (Bochs) drop bytes still queued when the machine stops.
void drain();
/// Takes one received byte, if the UART has one (LSR.DR).
bool receive(uint8_t& byte);
/// True when the transmitter takes a byte now (LSR.THRE: PC16550D
/// datasheet, 8.4): write() would not wait for it.
bool transmit_ready();
/// Turns the received-data interrupt on or off (IER bit 0, MCR.OUT2 which
/// gates the IRQ line on PCs), with a 1-byte FIFO trigger so every byte
/// interrupts (Bochs' 16550 has no character-timeout interrupt).
void receive_interrupt(bool on);

}  // namespace cos::x86::serial
