#include "sentry/fs/tty/terminal.h"

#include <sys/ioctl.h>
#include <termios.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sentry::fs::tty {

namespace {

// The kernel's ctype (lib/ctype.c, Latin-1), not the C library's locale.
bool KIsCntrl(uint8_t c) { return c < 32 || c == 127 || (c >= 128 && c < 160); }
bool KIsAlnum(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return c >= 192 && c != 215 && c != 247;
}
uint8_t KToLower(uint8_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 192 && c <= 222 && c != 215)) {
    return c + 32;
  }
  return c;
}
uint8_t KToUpper(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 224 && c <= 254 && c != 247)) {
    return c - 32;
  }
  return c;
}

constexpr uint8_t kDisabled = 0;  // _POSIX_VDISABLE / __DISABLED_CHAR
constexpr auto kSlice = std::chrono::milliseconds(10);

}  // namespace

KernelTermios DefaultReplicaTermios() {
  KernelTermios t{};
  t.c_iflag = ICRNL | IXON;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = B38400 | CS8 | CREAD;  // pts init_termios: no HUPCL
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  t.c_line = 0;
  // INIT_C_CC: intr=^C quit=^\ erase=del kill=^U eof=^D vtime=0 vmin=1
  // sxtc=0 start=^Q stop=^S susp=^Z eol=0 reprint=^R discard=^O werase=^W
  // lnext=^V eol2=0.
  static const uint8_t cc[17] = {003, 034, 0177, 025, 004, 0,   1,   0, 021,
                                 023, 032, 0,    022, 017, 027, 026, 0};
  std::memcpy(t.c_cc, cc, sizeof(cc));
  return t;
}

Terminal::Terminal(uint32_t index, std::function<void()> on_master_close,
                   std::function<void()> on_destroy)
    : index_(index),
      on_master_close_(std::move(on_master_close)),
      on_destroy_(std::move(on_destroy)),
      t_(DefaultReplicaTermios()) {
  icanon_ = L(ICANON);
}

Terminal::~Terminal() {
  if (on_destroy_) on_destroy_();
}

bool Terminal::hung_up() const {
  std::lock_guard<std::mutex> l(mu_);
  return !master_open_;
}

KernelTermios Terminal::termios() const {
  std::lock_guard<std::mutex> l(mu_);
  return t_;
}

Errno Terminal::OpenReplica() {
  std::lock_guard<std::mutex> l(mu_);
  if (!master_open_ || locked_) return Errno(EIO);
  ++replica_opens_;
  replica_was_opened_ = true;
  other_closed_ = false;
  cv_.notify_all();
  return Errno();
}

void Terminal::ReleaseReplica() {
  std::lock_guard<std::mutex> l(mu_);
  if (--replica_opens_ == 0) {
    // The replica's last close: the master sees TTY_OTHER_CLOSED (reads
    // drain, then EIO) and what the replica had not read is gone.
    other_closed_ = true;
    flip_.clear();
    ResetInput();
  }
  cv_.notify_all();
}

void Terminal::ReleaseMaster() {
  {
    std::lock_guard<std::mutex> l(mu_);
    master_open_ = false;
    // tty_vhangup of the replica: its reads see EOF, writes EIO.
    flip_.clear();
    ResetInput();
    out_.clear();
    cv_.notify_all();
  }
  if (on_master_close_) on_master_close_();
}

// ---- Input: what the master writes, through the replica's n_tty.

bool Terminal::RawMode() const {
  return !(I(ISTRIP) || I(IUCLC) || I(IGNCR) || I(ICRNL) || I(INLCR) ||
           L(ICANON) || I(IXON) || L(ISIG) || L(ECHO) || I(PARMRK));
}

bool Terminal::IsSpecial(uint8_t c) const {
  // n_tty_set_termios's char_map.
  if (c == kDisabled) return false;
  if (L(ICANON)) {
    if (c == CC(VERASE) || c == CC(VKILL) || c == CC(VEOF) || c == '\n' ||
        c == CC(VEOL)) {
      return true;
    }
    if (L(IEXTEN)) {
      if (c == CC(VWERASE) || c == CC(VLNEXT) || c == CC(VEOL2)) return true;
      if (L(ECHO) && c == CC(VREPRINT)) return true;
    }
  }
  if (I(IXON) && (c == CC(VSTART) || c == CC(VSTOP))) return true;
  if (L(ISIG) && (c == CC(VINTR) || c == CC(VQUIT) || c == CC(VSUSP))) {
    return true;
  }
  if ((I(IGNCR) || I(ICRNL)) && c == '\r') return true;
  if (I(INLCR) && c == '\n') return true;
  return false;
}

void Terminal::ResetInput() {
  rbuf_.clear();
  canon_head_ = 0;
  push_ = false;
  erasing_ = false;
  lnext_ = false;
  echoes_.clear();
}

void Terminal::ProcessInputLocked() {
  while (!flip_.empty()) {
    // n_tty_receive_buf_common's room, with its canonical overflow rule:
    // a full buffer holding no complete line still takes characters,
    // each replacing the last.
    size_t cnt = rbuf_.size();
    if (cnt + 1 >= kNTtyBufSize) {
      bool overflow = icanon_ && canon_head_ == 0;
      if (!overflow) break;
      if (cnt + 1 > kNTtyBufSize) {
        rbuf_.pop_back();
      }
    }
    uint8_t c = flip_.front();
    flip_.pop_front();
    ReceiveChar(c);
    // flush_echoes at the end of each receive.
    if (L(ECHO) || L(ECHONL)) CommitEchoes();
  }
  cv_.notify_all();
}

void Terminal::ReceiveChar(uint8_t c) {
  if (RawMode()) {
    PutQueue(c);
    return;
  }
  if (I(ISTRIP)) c &= 0x7f;
  if (I(IUCLC) && L(IEXTEN)) c = KToLower(c);
  if (lnext_) {
    lnext_ = false;
    ReceiveNormal(c);
    return;
  }
  if (IsSpecial(c)) {
    ReceiveSpecial(c);
  } else {
    ReceiveNormal(c);
  }
}

void Terminal::ReceiveNormal(uint8_t c) {
  if (stopped_ && I(IXON) && I(IXANY)) stopped_ = false;
  if (L(ECHO)) {
    FinishErasing();
    if (icanon_ && canon_head_ == rbuf_.size()) {
      echoes_.push_back({EchoOp::kSetCanonCol, 0});
    }
    EchoChar(c);
  }
  if (c == 0377 && I(PARMRK)) PutQueue(c);
  PutQueue(c);
}

void Terminal::ReceiveSignalChar(uint8_t c) {
  // isig(): no signal to send here (see terminal.h); flush unless NOFLSH.
  if (!L(NOFLSH)) ResetInput();
  if (I(IXON)) stopped_ = false;
  if (L(ECHO)) EchoChar(c);
}

void Terminal::ReceiveSpecial(uint8_t c) {
  if (I(IXON)) {
    if (c == CC(VSTART)) {
      stopped_ = false;
      return;
    }
    if (c == CC(VSTOP)) {
      stopped_ = true;
      return;
    }
  }
  if (L(ISIG)) {
    if (c == CC(VINTR) || c == CC(VQUIT) || c == CC(VSUSP)) {
      ReceiveSignalChar(c);
      return;
    }
  }
  if (stopped_ && I(IXON) && I(IXANY)) stopped_ = false;

  if (c == '\r') {
    if (I(IGNCR)) return;
    if (I(ICRNL)) c = '\n';
  } else if (c == '\n' && I(INLCR)) {
    c = '\r';
  }

  if (icanon_) {
    if (c == CC(VERASE) || c == CC(VKILL) || (c == CC(VWERASE) && L(IEXTEN))) {
      Eraser(c);
      return;
    }
    if (c == CC(VLNEXT) && L(IEXTEN)) {
      lnext_ = true;
      if (L(ECHO)) {
        FinishErasing();
        if (L(ECHOCTL)) {
          EchoRaw('^');
          EchoRaw('\b');
        }
      }
      return;
    }
    if (c == CC(VREPRINT) && L(ECHO) && L(IEXTEN)) {
      FinishErasing();
      EchoChar(c);
      EchoRaw('\n');
      for (size_t i = canon_head_; i < rbuf_.size(); ++i) {
        EchoChar(rbuf_[i].c);
      }
      return;
    }
    if (c == '\n') {
      if (L(ECHO) || L(ECHONL)) EchoRaw('\n');
      PutQueue(c, /*eol=*/true);
      canon_head_ = rbuf_.size();
      return;
    }
    if (c == CC(VEOF)) {
      PutQueue(kDisabled, /*eol=*/true);
      canon_head_ = rbuf_.size();
      return;
    }
    if (c == CC(VEOL) || (c == CC(VEOL2) && L(IEXTEN))) {
      if (L(ECHO)) {
        if (canon_head_ == rbuf_.size()) {
          echoes_.push_back({EchoOp::kSetCanonCol, 0});
        }
        EchoChar(c);
      }
      if (c == 0377 && I(PARMRK)) PutQueue(c);
      PutQueue(c, /*eol=*/true);
      canon_head_ = rbuf_.size();
      return;
    }
  }

  if (L(ECHO)) {
    FinishErasing();
    if (c == '\n') {
      EchoRaw('\n');
    } else {
      if (icanon_ && canon_head_ == rbuf_.size()) {
        echoes_.push_back({EchoOp::kSetCanonCol, 0});
      }
      EchoChar(c);
    }
  }
  if (c == 0377 && I(PARMRK)) PutQueue(c);
  PutQueue(c);
}

void Terminal::FinishErasing() {
  if (erasing_) {
    EchoRaw('/');
    erasing_ = false;
  }
}

void Terminal::EchoChar(uint8_t c) {
  if (c == 0377) {
    echoes_.push_back({EchoOp::kStart, c});
  } else if (L(ECHOCTL) && KIsCntrl(c) && c != '\t') {
    echoes_.push_back({EchoOp::kCtl, c});
  } else {
    EchoRaw(c);
  }
}

void Terminal::Eraser(uint8_t c) {
  enum { kErase, kWerase, kKill } kill_type;
  if (rbuf_.size() == canon_head_) return;
  if (c == CC(VERASE)) {
    kill_type = kErase;
  } else if (c == CC(VWERASE)) {
    kill_type = kWerase;
  } else {
    if (!L(ECHO)) {
      rbuf_.resize(canon_head_);
      return;
    }
    if (!L(ECHOK) || !L(ECHOKE) || !L(ECHOE)) {
      rbuf_.resize(canon_head_);
      FinishErasing();
      EchoChar(CC(VKILL));
      if (L(ECHOK)) EchoRaw('\n');
      return;
    }
    kill_type = kKill;
  }

  int seen_alnums = 0;
  while (rbuf_.size() != canon_head_) {
    size_t head = rbuf_.size();
    uint8_t ch;
    do {
      --head;
      ch = rbuf_[head].c;
    } while (is_continuation(ch) && head != canon_head_);
    if (is_continuation(ch)) break;
    if (kill_type == kWerase) {
      if (KIsAlnum(ch) || ch == '_') {
        ++seen_alnums;
      } else if (seen_alnums) {
        break;
      }
    }
    size_t cnt = rbuf_.size() - head;
    std::vector<uint8_t> erased;
    for (size_t i = head; i < rbuf_.size(); ++i) erased.push_back(rbuf_[i].c);
    rbuf_.resize(head);
    if (L(ECHO)) {
      if (L(ECHOPRT)) {
        if (!erasing_) {
          EchoRaw('\\');
          erasing_ = true;
        }
        EchoChar(ch);
        for (size_t i = 1; i < cnt; ++i) {
          EchoRaw(erased[i]);
          echoes_.push_back({EchoOp::kMoveBackCol, 0});
        }
      } else if (kill_type == kErase && !L(ECHOE)) {
        EchoChar(CC(VERASE));
      } else if (ch == '\t') {
        unsigned num_chars = 0;
        bool after_tab = false;
        size_t tail = rbuf_.size();
        while (tail != canon_head_) {
          --tail;
          uint8_t t = rbuf_[tail].c;
          if (t == '\t') {
            after_tab = true;
            break;
          } else if (KIsCntrl(t)) {
            if (L(ECHOCTL)) num_chars += 2;
          } else if (!is_continuation(t)) {
            ++num_chars;
          }
        }
        uint8_t arg = num_chars & 7;
        if (after_tab) arg |= 0x80;
        echoes_.push_back({EchoOp::kEraseTab, arg});
      } else {
        if (KIsCntrl(ch) && L(ECHOCTL)) {
          EchoRaw('\b');
          EchoRaw(' ');
          EchoRaw('\b');
        }
        if (!KIsCntrl(ch) || L(ECHOCTL)) {  // ^X takes two columns
          EchoRaw('\b');
          EchoRaw(' ');
          EchoRaw('\b');
        }
      }
    }
    if (kill_type == kErase) break;
  }
  if (rbuf_.size() == canon_head_ && L(ECHO)) FinishErasing();
}

void Terminal::CommitEchoes() {
  // __process_echoes: nothing goes out while the output is stopped.
  if (stopped_ || !master_open_) return;
  size_t i = 0;
  for (; i < echoes_.size(); ++i) {
    const Echo& e = echoes_[i];
    bool ok = true;
    switch (e.op) {
      case EchoOp::kStart:
        if (OutRoom() < 1) {
          ok = false;
          break;
        }
        out_.push_back(0377);
        ++column_;
        break;
      case EchoOp::kCtl:
        if (OutRoom() < 2) {
          ok = false;
          break;
        }
        out_.push_back('^');
        out_.push_back(e.c ^ 0100);
        column_ += 2;
        break;
      case EchoOp::kSetCanonCol:
        canon_column_ = column_;
        break;
      case EchoOp::kMoveBackCol:
        if (column_ > 0) --column_;
        break;
      case EchoOp::kEraseTab: {
        unsigned num_chars = e.c;
        if (!(num_chars & 0x80)) num_chars += canon_column_;
        unsigned num_bs = 8 - (num_chars & 7);
        if (OutRoom() < num_bs) {
          ok = false;
          break;
        }
        while (num_bs--) {
          out_.push_back('\b');
          if (column_ > 0) --column_;
        }
        break;
      }
      case EchoOp::kChar:
        if (O(OPOST)) {
          if (OutputChar(e.c) < 0) ok = false;
        } else {
          if (OutRoom() < 1) {
            ok = false;
            break;
          }
          out_.push_back(e.c);
        }
        break;
    }
    if (!ok) break;
  }
  echoes_.erase(echoes_.begin(), echoes_.begin() + i);
  cv_.notify_all();
}

int Terminal::OutputChar(uint8_t c) {
  size_t space = OutRoom();
  if (!space) return -1;
  switch (c) {
    case '\n':
      if (O(ONLRET)) column_ = 0;
      if (O(ONLCR)) {
        if (space < 2) return -1;
        canon_column_ = column_ = 0;
        out_.push_back('\r');
        out_.push_back('\n');
        return 2;
      }
      canon_column_ = column_;
      break;
    case '\r':
      if (O(ONOCR) && column_ == 0) return 0;
      if (O(OCRNL)) {
        c = '\n';
        if (O(ONLRET)) canon_column_ = column_ = 0;
        break;
      }
      canon_column_ = column_ = 0;
      break;
    case '\t': {
      int spaces = 8 - (column_ & 7);
      if ((t_.c_oflag & TABDLY) == XTABS) {
        if (space < static_cast<size_t>(spaces)) return -1;
        column_ += spaces;
        for (int i = 0; i < spaces; ++i) out_.push_back(' ');
        return spaces;
      }
      column_ += spaces;
      break;
    }
    case '\b':
      if (column_ > 0) --column_;
      break;
    default:
      if (!KIsCntrl(c)) {
        if (O(OLCUC)) c = KToUpper(c);
        if (!is_continuation(c)) ++column_;
      }
      break;
  }
  out_.push_back(c);
  return 1;
}

ErrnoOr<size_t> Terminal::MasterWrite(const Context& ctx, bool nonblock,
                                      const IOSequence& src) {
  std::unique_lock<std::mutex> l(mu_);
  size_t done = 0;
  while (done < src.size()) {
    if (replica_was_opened_ && replica_opens_ == 0) {
      // Nobody has the replica open: what is written is lost, as Linux
      // loses it (the replica's next open starts empty).
      return src.size();
    }
    size_t room = kQueueTotal - kNTtyBufSize + 1 - flip_.size();
    if (room == 0 || flip_.size() > kQueueTotal - kNTtyBufSize + 1) {
      if (done) return done;
      if (nonblock) return Errno(EAGAIN);
      if (ctx.interrupted()->load()) return Errno(EINTR);
      cv_.wait_for(l, kSlice);
      continue;
    }
    size_t k = std::min(room, src.size() - done);
    for (size_t i = 0; i < k; ++i) {
      uint8_t c;
      src.CopyIn(done + i, &c, 1);
      flip_.push_back(c);
    }
    done += k;
    ProcessInputLocked();
  }
  return done;
}

ErrnoOr<size_t> Terminal::MasterRead(const Context& ctx, bool nonblock,
                                     const IOSequence& dst) {
  std::unique_lock<std::mutex> l(mu_);
  if (dst.size() == 0) return size_t{0};
  while (out_.empty()) {
    if (other_closed_) return Errno(EIO);
    if (nonblock) return Errno(EAGAIN);
    if (ctx.interrupted()->load()) return Errno(EINTR);
    cv_.wait_for(l, kSlice);
  }
  size_t n = std::min(dst.size(), out_.size());
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = out_.front();
    out_.pop_front();
    dst.CopyOut(i, &c, 1);
  }
  if (!echoes_.empty()) CommitEchoes();
  cv_.notify_all();
  return n;
}

bool Terminal::InputAvailable() const {
  if (icanon_) return canon_head_ > 0;
  return !rbuf_.empty();
}

ErrnoOr<size_t> Terminal::ReplicaRead(const Context& ctx, bool nonblock,
                                      const IOSequence& dst) {
  std::unique_lock<std::mutex> l(mu_);
  size_t nr = dst.size();
  if (nr == 0) return size_t{0};
  using Clock = std::chrono::steady_clock;
  size_t got = 0;
  // n_tty_read's minimum / time / timeout.
  size_t minimum = 0;
  std::chrono::milliseconds time(0);
  bool forever = true;
  Clock::time_point deadline{};
  if (!icanon_) {
    minimum = CC(VMIN);
    if (minimum) {
      time = std::chrono::milliseconds(100 * CC(VTIME));
    } else {
      if (CC(VTIME)) {
        forever = false;
        deadline = Clock::now() + std::chrono::milliseconds(100 * CC(VTIME));
      } else {
        forever = false;
        deadline = Clock::now();  // a zero timeout
      }
      minimum = 1;
    }
  }
  while (got < nr) {
    if (!master_open_) break;  // hung up: EOF
    if (!InputAvailable()) {
      bool timed_out = !forever && Clock::now() >= deadline;
      if (timed_out) break;
      if (nonblock) {
        if (got) break;
        return Errno(EAGAIN);
      }
      if (ctx.interrupted()->load()) {
        if (got) break;
        return Errno(EINTR);
      }
      if (forever) {
        cv_.wait_for(l, kSlice);
      } else {
        cv_.wait_until(l, std::min(deadline, Clock::now() + kSlice));
      }
      continue;
    }
    if (icanon_) {
      // canon_copy_from_read_buf: at most one line; an EOF mark ends the
      // line and is not returned; one right after a filled buffer is
      // skipped (canon_skip_eof).
      size_t avail = canon_head_;
      size_t lim = std::min(nr - got, avail);
      size_t i = 0;
      bool found = false;
      for (; i < lim; ++i) {
        if (rbuf_[i].eol) {
          found = true;
          break;
        }
      }
      size_t copy, consume;
      if (found) {
        consume = i + 1;
        copy = rbuf_[i].c == kDisabled ? i : i + 1;
      } else {
        copy = consume = lim;
      }
      for (size_t k = 0; k < copy; ++k) {
        uint8_t c = rbuf_[k].c;
        dst.CopyOut(got + k, &c, 1);
      }
      got += copy;
      rbuf_.erase(rbuf_.begin(), rbuf_.begin() + consume);
      canon_head_ -= consume;
      if (found) push_ = false;
      if (!found && got == nr && canon_head_ > 0 && rbuf_.front().eol &&
          rbuf_.front().c == kDisabled) {
        rbuf_.pop_front();
        --canon_head_;
      }
      ProcessInputLocked();
      break;
    }
    size_t n = std::min(nr - got, rbuf_.size());
    for (size_t k = 0; k < n; ++k) {
      uint8_t c = rbuf_[k].c;
      dst.CopyOut(got + k, &c, 1);
    }
    got += n;
    rbuf_.erase(rbuf_.begin(), rbuf_.begin() + n);
    canon_head_ = 0;
    ProcessInputLocked();
    if (got >= minimum) break;
    if (time.count()) {
      forever = false;
      deadline = Clock::now() + time;
    }
  }
  cv_.notify_all();
  return got;
}

ErrnoOr<size_t> Terminal::ReplicaWrite(const Context& ctx, bool nonblock,
                                       const IOSequence& src) {
  std::unique_lock<std::mutex> l(mu_);
  size_t done = 0;
  if (!echoes_.empty()) CommitEchoes();
  while (done < src.size()) {
    if (!master_open_) {
      if (done) return done;
      return Errno(EIO);
    }
    bool progressed = false;
    if (!stopped_) {
      while (done < src.size()) {
        uint8_t c;
        src.CopyIn(done, &c, 1);
        if (O(OPOST)) {
          if (OutputChar(c) < 0) break;
        } else {
          if (OutRoom() == 0) break;
          out_.push_back(c);
        }
        ++done;
        progressed = true;
      }
    }
    if (progressed) cv_.notify_all();
    if (done == src.size()) break;
    if (nonblock) {
      if (done) return done;
      return Errno(EAGAIN);
    }
    if (ctx.interrupted()->load()) {
      if (done) return done;
      return Errno(EINTR);
    }
    cv_.wait_for(l, kSlice);
  }
  return done;
}

size_t Terminal::InqLocked() const {
  if (L(ICANON)) {
    // inq_canon: committed bytes, EOF marks not counted.
    size_t n = 0;
    for (size_t i = 0; i < canon_head_; ++i) {
      if (!(rbuf_[i].eol && rbuf_[i].c == kDisabled)) ++n;
    }
    return n;
  }
  return rbuf_.size();
}

void Terminal::SetTermiosLocked(const KernelTermios& nt) {
  bool old_canon = L(ICANON);
  t_ = nt;
  bool new_canon = L(ICANON);
  if (old_canon != new_canon) {
    // n_tty_set_termios: switching modes re-frames what is buffered.
    for (auto& c : rbuf_) c.eol = false;
    if (!new_canon || rbuf_.empty()) {
      canon_head_ = 0;
      push_ = false;
    } else {
      rbuf_.back().eol = true;
      canon_head_ = rbuf_.size();
      push_ = true;
    }
    erasing_ = false;
    lnext_ = false;
  }
  icanon_ = new_canon;
  if (!I(IXON) && stopped_) stopped_ = false;
  ProcessInputLocked();
  if (!echoes_.empty()) CommitEchoes();
  cv_.notify_all();
}

ErrnoOr<int64_t> Terminal::Ioctl(const Context& ctx, bool master, uint64_t cmd,
                                 uintptr_t arg) {
  std::unique_lock<std::mutex> l(mu_);
  // A hung-up replica answers EIO (hung_up_tty_ioctl).
  if (!master && !master_open_) return Errno(EIO);
  void* p = reinterpret_cast<void*>(arg);
  switch (cmd) {
    case TCGETS:
      if (!p) return Errno(EFAULT);
      std::memcpy(p, &t_, sizeof(t_));
      return 0;
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
      if (!p) return Errno(EFAULT);
      KernelTermios nt;
      std::memcpy(&nt, p, sizeof(nt));
      // TCSETSW/F wait for the output to drain: a pty has no driver
      // buffer to drain (chars_in_buffer is 0), so nothing to wait for.
      if (cmd == TCSETSF) {
        flip_.clear();
        ResetInput();
      }
      SetTermiosLocked(nt);
      return 0;
    }
    case TIOCGWINSZ:
      if (!p) return Errno(EFAULT);
      std::memcpy(p, &ws_, sizeof(ws_));
      return 0;
    case TIOCSWINSZ:
      if (!p) return Errno(EFAULT);
      std::memcpy(&ws_, p, sizeof(ws_));  // SIGWINCH: not delivered
      return 0;
    case TIOCGPTN:
      if (!master) return Errno(ENOTTY);
      if (!p) return Errno(EFAULT);
      {
        unsigned int n = index_;
        std::memcpy(p, &n, sizeof(n));
      }
      return 0;
    case TIOCSPTLCK:
      if (!master) return Errno(ENOTTY);
      if (!p) return Errno(EFAULT);
      {
        int v;
        std::memcpy(&v, p, sizeof(v));
        locked_ = v != 0;
      }
      return 0;
    case TIOCGPTLCK:
      if (!master) return Errno(ENOTTY);
      if (!p) return Errno(EFAULT);
      {
        int v = locked_;
        std::memcpy(p, &v, sizeof(v));
      }
      return 0;
    case TIOCSCTTY:
    case TIOCNOTTY:
      // Accepted; devpts.cc records the controlling terminal for /dev/tty.
      return 0;
    case FIONREAD: {  // == TIOCINQ
      if (!p) return Errno(EFAULT);
      int n = master ? static_cast<int>(std::min(out_.size(), kNTtyBufSize - 1))
                     : static_cast<int>(InqLocked());
      std::memcpy(p, &n, sizeof(n));
      return 0;
    }
    case TIOCOUTQ: {
      // A pty driver buffers nothing (tty_chars_in_buffer is 0).
      if (!p) return Errno(EFAULT);
      int n = 0;
      std::memcpy(p, &n, sizeof(n));
      return 0;
    }
    case TCFLSH: {
      int which = static_cast<int>(arg);
      if (which != TCIFLUSH && which != TCOFLUSH && which != TCIOFLUSH) {
        return Errno(EINVAL);
      }
      if (which == TCIFLUSH || which == TCIOFLUSH) {
        if (master) {
          out_.clear();
        } else {
          flip_.clear();
          ResetInput();
        }
      }
      cv_.notify_all();
      return 0;
    }
    case TCXONC:
      switch (static_cast<int>(arg)) {
        case TCOOFF:
          stopped_ = true;
          return 0;
        case TCOON:
          stopped_ = false;
          if (!echoes_.empty()) CommitEchoes();
          cv_.notify_all();
          return 0;
        case TCIOFF:
        case TCION:
          return 0;
        default:
          return Errno(EINVAL);
      }
    case TCSBRK:
    case TCSBRKP:
      return 0;
    default:
      return Errno(ENOTTY);
  }
}

}  // namespace sentry::fs::tty
