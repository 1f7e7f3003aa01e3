// Transports that carry whole 9P messages over a byte stream.
//
// Provides:
//   FileDescriptor     move-only owner of a host fd.
//   Transport          the interface the client and server use: Send one
//                      message (head + optional zero-copy tail, optionally
//                      with one host fd attached), Recv one whole message.
//   SocketTransport    a connected stream socket: a unix socket or
//                      socketpair (the `trans=fd` case), optionally passing
//                      host fds with SCM_RIGHTS, or a TCP connection.
//   SocketPair()       two connected SocketTransports.
//   TcpListener / DialTcp   loopback (or any IPv4) TCP.
//
// Framing: Recv reads the 4-byte size prefix, rejects sizes below the
// header size (EPROTO) or above the caller's limit (EMSGSIZE), then reads
// exactly that many bytes. An orderly EOF between messages is ECONNRESET, a
// short read inside a message EPIPE; after any Recv error the stream is out
// of sync, and callers treat it as the connection's death.
//
// Thread-safety: Send may be called from many threads at once (messages are
// never interleaved); Recv by one thread at a time; Shutdown from any
// thread, at any time, and wakes a blocked Recv/Send.
#ifndef P9_TRANSPORT_H_
#define P9_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/errno.h"
#include "base/mutex.h"

namespace p9 {

// Owns a host file descriptor; closes it on destruction. -1 means none.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.release()) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends one message: `head` followed by `tail` (which may be empty), as
  // produced by Encode(). If fd >= 0 and CanPassFds(), the fd is attached
  // (duplicated into the peer; the caller keeps its copy). Errors: EPIPE or
  // the socket's errno; after an error the transport is unusable.
  virtual base::Errno Send(std::span<const uint8_t> head,
                           std::span<const uint8_t> tail, int fd = -1) = 0;

  // Receives one whole message (size prefix included) into *msg, whose size
  // is set to the message's. At most `max_size` bytes are accepted. Any fd
  // that arrived with the message is placed in *fd (if non-null; otherwise
  // closed); extra fds are closed.
  virtual base::Errno Recv(uint32_t max_size, std::vector<uint8_t>* msg,
                           FileDescriptor* fd = nullptr) = 0;

  // Makes pending and future Send/Recv calls fail promptly.
  virtual void Shutdown() = 0;

  // Whether Send attaches fds and Recv collects them.
  virtual bool CanPassFds() const = 0;
};

class SocketTransport final : public Transport {
 public:
  // Takes ownership of a connected SOCK_STREAM socket. `pass_fds` enables
  // SCM_RIGHTS in both directions (unix sockets only).
  SocketTransport(FileDescriptor fd, bool pass_fds);
  ~SocketTransport() override;

  base::Errno Send(std::span<const uint8_t> head, std::span<const uint8_t> tail,
                   int fd = -1) override;
  base::Errno Recv(uint32_t max_size, std::vector<uint8_t>* msg,
                   FileDescriptor* fd = nullptr) override;
  void Shutdown() override;
  bool CanPassFds() const override { return pass_fds_; }

  int fd() const { return fd_.get(); }

 private:
  // Reads exactly n bytes into p, collecting any passed fds into *fds.
  base::Errno ReadFull(uint8_t* p, size_t n, std::vector<int>* fds);

  const FileDescriptor fd_;
  const bool pass_fds_;
  base::Mutex send_mu_;  // Serialises whole messages on the stream.
};

// A connected pair of unix stream sockets as transports.
base::ErrnoOr<std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>>>
SocketPair(bool pass_fds = false);

// Listens on 127.0.0.1 (port 0 picks a free port).
class TcpListener {
 public:
  static base::ErrnoOr<std::unique_ptr<TcpListener>> ListenLoopback(
      uint16_t port = 0);
  uint16_t port() const { return port_; }
  // Blocks for the next connection.
  base::ErrnoOr<std::unique_ptr<Transport>> Accept();
  // Wakes a blocked Accept (which then fails).
  void Shutdown();

 private:
  TcpListener(FileDescriptor fd, uint16_t port)
      : fd_(std::move(fd)), port_(port) {}
  FileDescriptor fd_;
  uint16_t port_;
};

// Connects to an IPv4 address in dotted form ("127.0.0.1").
base::ErrnoOr<std::unique_ptr<Transport>> DialTcp(const std::string& ip,
                                                  uint16_t port);

}  // namespace p9

#endif  // P9_TRANSPORT_H_
