// Terminal: one pseudo-terminal pair and its line discipline (Linux n_tty).
//
// The master writes input, which the replica's line discipline receives
// (ICRNL/INLCR/IGNCR, canonical editing with ERASE/WERASE/KILL/EOF/LNEXT,
// echo with ECHOE/ECHOK/ECHOKE/ECHONL/ECHOCTL/ECHOPRT, IXON flow control,
// ISIG characters); the replica reads it (canonical lines, or VMIN/VTIME
// raw reads). The replica writes output through OPOST processing (ONLCR,
// OCRNL, ONOCR, ONLRET, OLCUC, XTABS); the master reads it back, with the
// echoes, unprocessed (a pty master's termios is raw on Linux).
//
// Queues are bounded as on Linux: the replica's line discipline holds
// N_TTY_BUF_SIZE (4096) bytes, a canonical line at most 4095 plus its
// terminator (further characters replace the last one, as n_tty's overflow
// rule does); behind it a "flip" queue takes master writes up to a total of
// kQueueTotal, which is what a non-blocking writer can push into a Linux
// 6.x pty before EAGAIN (20480 bytes, measured both ways). Writers block
// (10 ms slices, EINTR on ctx.interrupted()) when full; O_NONBLOCK gives
// EAGAIN.
//
// Termios and the window size are one set per pair: TCGETS/TCSETS and
// TIOCGWINSZ/TIOCSWINSZ on the master act on the replica's, as Linux's
// tty_mode_ioctl does for a pty master.
//
// Signals: with ISIG, INTR/QUIT/SUSP are recognised, echoed and flush the
// queues as n_tty does (unless NOFLSH), but no signal is sent: this VFS has
// no process groups. SIGWINCH after TIOCSWINSZ likewise is not sent.
//
// Thread-safe: one mutex guards everything; blocking waits poll a
// condition variable in 10 ms slices, as sentry/fs/pipe.cc does.
#ifndef SENTRY_FS_TTY_TERMINAL_H_
#define SENTRY_FS_TTY_TERMINAL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/errno.h"
#include "sentry/context/context.h"
#include "sentry/fs/iosequence.h"

namespace sentry::fs::tty {

using base::Errno;
using base::ErrnoOr;
using context::Context;

// The kernel's struct termios (asm/termbits.h), as TCGETS/TCSETS pass it:
// not glibc's, which has c_cc[32] and speed fields.
struct KernelTermios {
  uint32_t c_iflag;
  uint32_t c_oflag;
  uint32_t c_cflag;
  uint32_t c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);

// struct winsize.
struct WindowSize {
  uint16_t ws_row = 0;
  uint16_t ws_col = 0;
  uint16_t ws_xpixel = 0;
  uint16_t ws_ypixel = 0;
};
static_assert(sizeof(WindowSize) == 8);

// What a Linux pty replica starts with (tty_std_termios; cflag
// B38400|CS8|CREAD).
KernelTermios DefaultReplicaTermios();

inline constexpr size_t kNTtyBufSize = 4096;  // N_TTY_BUF_SIZE
inline constexpr size_t kQueueTotal = 20480;  // see above

class Terminal {
 public:
  // on_master_close runs once, without the lock, when the master goes
  // (devpts removes /dev/pts/N then); on_destroy when the pair dies (frees
  // the index).
  Terminal(uint32_t index, std::function<void()> on_master_close,
           std::function<void()> on_destroy);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  uint32_t index() const { return index_; }

  // A new open of the replica: EIO while locked (TIOCSPTLCK) or once the
  // master has gone, as Linux.
  Errno OpenReplica();
  void ReleaseReplica();
  void ReleaseMaster();

  ErrnoOr<size_t> MasterRead(const Context& ctx, bool nonblock,
                             const IOSequence& dst);
  ErrnoOr<size_t> MasterWrite(const Context& ctx, bool nonblock,
                              const IOSequence& src);
  ErrnoOr<size_t> ReplicaRead(const Context& ctx, bool nonblock,
                              const IOSequence& dst);
  ErrnoOr<size_t> ReplicaWrite(const Context& ctx, bool nonblock,
                               const IOSequence& src);
  // ioctl(2) on either end; arg is the caller's pointer or value.
  ErrnoOr<int64_t> Ioctl(const Context& ctx, bool master, uint64_t cmd,
                         uintptr_t arg);

  // Whether the replica side is hung up (master closed).
  bool hung_up() const;
  KernelTermios termios() const;

 private:
  struct Cell {
    uint8_t c;
    bool eol;  // n_tty's read_flags bit: a canonical line ends here
  };
  enum class EchoOp : uint8_t {
    kChar,
    kCtl,
    kSetCanonCol,
    kMoveBackCol,
    kEraseTab,
    kStart
  };
  struct Echo {
    EchoOp op;
    uint8_t c;
  };

  bool L(uint32_t f) const { return t_.c_lflag & f; }
  bool I(uint32_t f) const { return t_.c_iflag & f; }
  bool O(uint32_t f) const { return t_.c_oflag & f; }
  uint8_t CC(int i) const { return t_.c_cc[i]; }
  bool IsSpecial(uint8_t c) const;
  bool RawMode() const;
  bool is_continuation(uint8_t c) const {
    return (t_.c_iflag & 0040000u) && (c & 0xc0) == 0x80;  // IUTF8
  }

  // Input side (all with mu_ held).
  void ProcessInputLocked();
  void ReceiveChar(uint8_t c);
  void ReceiveNormal(uint8_t c);
  void ReceiveSpecial(uint8_t c);
  void ReceiveSignalChar(uint8_t c);
  void Eraser(uint8_t c);
  void FinishErasing();
  void EchoChar(uint8_t c);
  void EchoRaw(uint8_t c) { echoes_.push_back({EchoOp::kChar, c}); }
  void PutQueue(uint8_t c, bool eol = false) { rbuf_.push_back({c, eol}); }
  void CommitEchoes();
  void ResetInput();
  void SetTermiosLocked(const KernelTermios& nt);
  size_t InqLocked() const;

  // Output side.
  size_t OutRoom() const { return kQueueTotal - out_.size(); }
  // n_tty's do_output_char: -1 when there is no room.
  int OutputChar(uint8_t c);

  bool InputAvailable() const;

  const uint32_t index_;
  std::function<void()> on_master_close_;
  std::function<void()> on_destroy_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  KernelTermios t_;
  WindowSize ws_;
  bool locked_ = true;
  bool master_open_ = true;
  int replica_opens_ = 0;
  bool replica_was_opened_ = false;
  bool other_closed_ = false;  // TTY_OTHER_CLOSED on the master

  // Master -> replica.
  std::deque<uint8_t> flip_;
  std::deque<Cell> rbuf_;
  size_t canon_head_ = 0;  // committed bytes at the front of rbuf_
  bool icanon_ = true;
  bool push_ = false;
  bool erasing_ = false;
  bool lnext_ = false;
  std::vector<Echo> echoes_;  // pending until committed

  // Replica -> master.
  std::deque<uint8_t> out_;
  int column_ = 0;
  int canon_column_ = 0;
  bool stopped_ = false;  // ^S / TCOOFF
};

}  // namespace sentry::fs::tty

#endif  // SENTRY_FS_TTY_TERMINAL_H_
