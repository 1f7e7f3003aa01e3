#include "sentry/fs/proc/process.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sentry::fs::proc {

namespace {

std::atomic<const ProcessTable*> default_table{nullptr};
std::atomic<const MachineInfoSource*> default_machine{nullptr};

#if defined(__x86_64__) || defined(__i386__)
void FillCpu(MachineInfo& m) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  char vendor[13];
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  m.cpu_vendor = vendor;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
    if (family == 0xf) family += (a >> 20) & 0xff;
    if (family >= 6) model |= ((a >> 16) & 0xf) << 4;
    m.cpu_family = static_cast<int>(family);
    m.cpu_model = static_cast<int>(model);
    m.cpu_stepping = static_cast<int>(a & 0xf);
    static const struct {
      int reg;  // 0: edx, 1: ecx
      int bit;
      const char* name;
    } kFlags[] = {
        {0, 0, "fpu"},       {0, 1, "vme"},     {0, 2, "de"},
        {0, 3, "pse"},       {0, 4, "tsc"},     {0, 5, "msr"},
        {0, 6, "pae"},       {0, 7, "mce"},     {0, 8, "cx8"},
        {0, 9, "apic"},      {0, 11, "sep"},    {0, 12, "mtrr"},
        {0, 13, "pge"},      {0, 14, "mca"},    {0, 15, "cmov"},
        {0, 16, "pat"},      {0, 17, "pse36"},  {0, 19, "clflush"},
        {0, 23, "mmx"},      {0, 24, "fxsr"},   {0, 25, "sse"},
        {0, 26, "sse2"},     {0, 28, "ht"},     {1, 0, "pni"},
        {1, 1, "pclmulqdq"}, {1, 9, "ssse3"},   {1, 12, "fma"},
        {1, 13, "cx16"},     {1, 19, "sse4_1"}, {1, 20, "sse4_2"},
        {1, 21, "x2apic"},   {1, 22, "movbe"},  {1, 23, "popcnt"},
        {1, 25, "aes"},      {1, 26, "xsave"},  {1, 28, "avx"},
        {1, 29, "f16c"},     {1, 30, "rdrand"}, {1, 31, "hypervisor"},
    };
    std::string flags;
    for (const auto& f : kFlags) {
      unsigned r = f.reg == 0 ? d : c;
      if ((r >> f.bit) & 1) {
        if (!flags.empty()) flags += ' ';
        flags += f.name;
      }
    }
    m.cpu_flags = flags;
  }
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    std::string s = brand;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    size_t start = s.find_first_not_of(' ');
    m.cpu_model_name = start == std::string::npos ? "unknown" : s.substr(start);
  }
}
#else
void FillCpu(MachineInfo&) {}
#endif

class HostMachine : public MachineInfoSource {
 public:
  MachineInfo Get() const override {
    MachineInfo m;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m.cpus = n > 0 ? static_cast<int>(n) : 1;
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
      uint64_t unit = si.mem_unit ? si.mem_unit : 1;
      m.mem_total = si.totalram * unit;
      m.mem_free = si.freeram * unit;
      m.buffers = si.bufferram * unit;
      m.mem_available = m.mem_free + m.buffers;
      m.swap_total = si.totalswap * unit;
      m.swap_free = si.freeswap * unit;
      for (int i = 0; i < 3; ++i) m.loadavg[i] = si.loads[i] / 65536.0;
    }
    struct timespec up;
    clock_gettime(CLOCK_BOOTTIME, &up);
    m.uptime = up.tv_sec + up.tv_nsec / 1e9;
    m.idle = 0;
    m.boot_time = static_cast<int64_t>(time(nullptr)) - up.tv_sec;
    struct utsname u;
    if (uname(&u) == 0) {
      m.hostname = u.nodename;
      m.osrelease = u.release;
      m.version = u.version;
    }
    FillCpu(m);
    return m;
  }
};

}  // namespace

const MachineInfoSource& HostMachineInfo() {
  static const HostMachine* host = new HostMachine();
  return *host;
}

void SetDefaultProcessTable(const ProcessTable* table) {
  default_table.store(table);
}
const ProcessTable* DefaultProcessTable() { return default_table.load(); }

void SetDefaultMachineInfo(const MachineInfoSource* src) {
  default_machine.store(src);
}
const MachineInfoSource& DefaultMachineInfo() {
  const MachineInfoSource* m = default_machine.load();
  return m ? *m : HostMachineInfo();
}

}  // namespace sentry::fs::proc
