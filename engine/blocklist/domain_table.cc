// DomainTableBuilder and the compact table it builds.
//
// Layout of the built table (about 21 bytes per domain of 15 letters, plus 5 bytes per slot
// of the hash index, which is kept at most 70% full):
//
//   arena_    one record per entry, back to back:
//               [u8 key length][key bytes][u8 meta][varint path][varint line]
//               [varint written]? [varint comment]?
//             meta: bits 0-1 severity, bit 2 reject_media, bit 3 reject_reports,
//                   bit 4 "written" follows, bit 5 "comment" follows.
//             A domain's key is its normalised name; a digest entry's key is the 32 raw bytes
//             of its SHA-256.
//   strings_  written forms (only those that differ from the key) and public comments,
//             each once: [varint length][bytes]; records refer to them by offset.
//   paths_    the file names, one string each; records refer to them by index.
//   index_    open addressing, linear probing; per slot a tag byte (0 = empty, else 8 bits
//             of the hash) and the 32-bit offset of the record in arena_. digests_ is the
//             same for digest entries (usually empty).
//   filter_   a Bloom filter of the domain keys (8 bits per key), so that most suffixes that
//             are no key never touch the index: most lookups are of domains not listed.
//   label_counts_  which label counts occur among the domain keys: a lookup of
//             "a.b.c.example.com" does not even hash "a.b.c.example.com" when no key has
//             five labels.
//
// The builder keeps fixed-size records (merging rewrites them in place) and writes the
// packed form once, in Build().
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "engine/blocklist/blocklist.h"
#include "engine/blocklist/parse_internal.h"
#include "engine/text/domain.h"

namespace fedwall::blocklist {
namespace {

constexpr uint32_t kNoString = std::numeric_limits<uint32_t>::max();
constexpr size_t kDigestBytes = 32;
constexpr size_t kMaxKey = 255;  // a key's length is one byte (names have at most 253)
// Offsets are 32-bit: the builder refuses entries once its key bytes would pass this.
constexpr size_t kMaxArena = std::numeric_limits<uint32_t>::max() - 4096;

constexpr uint8_t kRejectMedia = 1 << 2;
constexpr uint8_t kRejectReports = 1 << 3;
constexpr uint8_t kHasWritten = 1 << 4;
constexpr uint8_t kHasComment = 1 << 5;

uint64_t HashKey(std::string_view key) {
  return absl::HashOf(absl::string_view(key.data(), key.size()));
}

void PutVarint(std::string& out, uint32_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

uint32_t GetVarint(const char*& p) {
  uint32_t v = 0;
  for (int shift = 0;; shift += 7) {
    uint8_t b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if (b < 0x80 || shift >= 28) return v;
  }
}

// Raw SHA-256 of `s`. One context per thread, reused.
std::array<char, kDigestBytes> Sha256(std::string_view s) {
  struct Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Context context;
  std::array<char, kDigestBytes> out{};
  unsigned int len = 0;
  if (context.md == nullptr || context.ctx == nullptr ||
      EVP_DigestInit_ex(context.ctx, context.md, nullptr) != 1 ||
      EVP_DigestUpdate(context.ctx, s.data(), s.size()) != 1 ||
      EVP_DigestFinal_ex(context.ctx, reinterpret_cast<unsigned char*>(out.data()), &len) != 1) {
    out.fill(0);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Open-addressing hash index from keys to 32-bit values (linear probing). Each slot is five
// bytes, a tag and the value, so a probe touches one cache line. The keys live elsewhere:
// Find() confirms a tag match through `eq(value)`. There is always at least one empty slot.
class Index {
 public:
  // Makes room for `n` values, at most `load` full.
  void Init(size_t n, double load) {
    size_t capacity = std::max<size_t>(8, static_cast<size_t>(static_cast<double>(n) / load) + 1);
    slots_.assign(capacity * kSlot, 0);
    capacity_ = capacity;
    size_ = 0;
  }

  template <typename Eq>
  const uint8_t* Find(uint64_t hash, Eq eq) const {
    if (capacity_ == 0) return nullptr;
    const uint8_t tag = Tag(hash);
    size_t i = Home(hash);
    while (true) {
      const uint8_t* slot = slots_.data() + i * kSlot;
      if (slot[0] == 0) return nullptr;
      if (slot[0] == tag && eq(Value(slot))) return slot;
      if (++i == capacity_) i = 0;
    }
  }

  // Inserts a value known to be absent. The caller keeps the load below Init's.
  void Insert(uint64_t hash, uint32_t value) {
    size_t i = Home(hash);
    while (slots_.data()[i * kSlot] != 0) {
      if (++i == capacity_) i = 0;
    }
    uint8_t* slot = slots_.data() + i * kSlot;
    slot[0] = Tag(hash);
    std::memcpy(slot + 1, &value, sizeof value);
    ++size_;
  }

  static uint32_t Value(const uint8_t* slot) {
    uint32_t v;
    std::memcpy(&v, slot + 1, sizeof v);
    return v;
  }

  // Starts loading the slot where a search for `hash` begins.
  void Prefetch(uint64_t hash) const {
    if (capacity_ > 0) __builtin_prefetch(slots_.data() + Home(hash) * kSlot);
  }

  // Calls fn(value) for every value.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (size_t i = 0; i < capacity_; ++i) {
      const uint8_t* slot = slots_.data() + i * kSlot;
      if (slot[0] != 0) fn(Value(slot));
    }
  }

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const { return slots_.capacity(); }

 private:
  static constexpr size_t kSlot = 5;
  static uint8_t Tag(uint64_t hash) {
    uint8_t t = static_cast<uint8_t>(hash);
    return t == 0 ? 1 : t;
  }
  // Maps the high 32 bits of the hash onto [0, capacity) without a division.
  size_t Home(uint64_t hash) const {
    return static_cast<size_t>(((hash >> 32) * static_cast<uint64_t>(capacity_)) >> 32);
  }

  std::vector<uint8_t> slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

class CompactTable final : public DomainTable {
 public:
  std::optional<Match> Lookup(std::string_view domain) const override {
    // First the hash of every suffix that can be a key (its label count occurs among the
    // keys) and prefetches of its filter word and index slot, so that the cache misses of all
    // levels overlap; then, most specific first, the filter and the probe.
    struct Level {  // trivial, so that the array below costs nothing to set up
      const char* data;
      size_t size;
      uint64_t hash;
      bool probe;
    };
    constexpr size_t kMaxLevels = kMaxKey + 1;  // suffixes of at most kMaxKey bytes
    Level levels[kMaxLevels];
    size_t n = 0;
    size_t labels = static_cast<size_t>(std::count(domain.begin(), domain.end(), '.')) + 1;
    text::ForEachSuffix(domain, [&](std::string_view suffix) {
      const size_t count = labels--;
      if (suffix.size() > kMaxKey) return true;
      if (n == kMaxLevels) return false;
      Level& level = levels[n++];
      level.data = suffix.data();
      level.size = suffix.size();
      level.probe = (label_counts_ >> std::min<size_t>(count, 63)) & 1;
      if (level.probe) {
        level.hash = HashKey(suffix);
        PrefetchFilter(level.hash);
        index_.Prefetch(level.hash);
      }
      return true;
    });
    const bool digests = digests_.size() > 0;
    for (size_t i = 0; i < n; ++i) {
      const Level& level = levels[i];
      const std::string_view suffix(level.data, level.size);
      if (level.probe && MayContain(level.hash)) {
        if (const uint8_t* slot = Find(index_, suffix, level.hash)) {
          return Decode(Index::Value(slot), /*by_digest=*/false);
        }
      }
      if (digests) {
        std::array<char, kDigestBytes> digest = Sha256(suffix);
        std::string_view key(digest.data(), digest.size());
        if (const uint8_t* slot = Find(digests_, key, HashKey(key))) {
          return Decode(Index::Value(slot), /*by_digest=*/true);
        }
      }
    }
    return std::nullopt;
  }

  size_t size() const override { return index_.size() + digests_.size(); }

  void AddToFilter(uint64_t hash) {
    const auto [word, bits] = FilterBits(hash);
    filter_[word] |= bits;
  }

  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) + arena_.capacity() + strings_.capacity() +
                   filter_.capacity() * sizeof(uint64_t) + index_.MemoryBytes() +
                   digests_.MemoryBytes() + paths_.capacity() * sizeof(std::string);
    for (const std::string& p : paths_) {
      if (p.capacity() > 15) bytes += p.capacity() + 1;  // beyond the small-string buffer
    }
    return bytes;
  }

  // Set by DomainTableBuilder::Impl::Build, never changed afterwards (see the top of the file).
  std::string arena_;
  std::string strings_;
  std::vector<std::string> paths_;
  Index index_;
  Index digests_;
  uint64_t label_counts_ = 0;  // bit min(n, 63) set when some domain key has n labels
  // 8 bits per domain key, 2 of them set in one 64-bit word (about 5% false positives); small
  // enough to stay in cache (1 MB for 1M domains).
  std::vector<uint64_t> filter_;

 private:
  void PrefetchFilter(uint64_t hash) const { __builtin_prefetch(&filter_[FilterBits(hash).first]); }

  bool MayContain(uint64_t hash) const {
    const auto [word, bits] = FilterBits(hash);
    return (filter_[word] & bits) == bits;
  }

  // The filter word (from the low 32 bits of the hash; the index's slot comes from the high
  // ones) and two bits in it (from the top of the hash mixed once more).
  std::pair<size_t, uint64_t> FilterBits(uint64_t hash) const {
    const size_t word = static_cast<size_t>(((hash & 0xffffffff) * filter_.size()) >> 32);
    const uint64_t mixed = hash * 0x9e3779b97f4a7c15;
    const uint64_t bits = (uint64_t{1} << (mixed >> 58)) | (uint64_t{1} << ((mixed >> 52) & 63));
    return {word, bits};
  }

  const uint8_t* Find(const Index& index, std::string_view key, uint64_t hash) const {
    return index.Find(hash, [&](uint32_t offset) {
      const char* record = arena_.data() + offset;
      return static_cast<uint8_t>(record[0]) == key.size() &&
             std::memcmp(record + 1, key.data(), key.size()) == 0;
    });
  }

  std::string_view String(uint32_t offset) const {
    const char* p = strings_.data() + offset;
    uint32_t len = GetVarint(p);
    return {p, len};
  }

  Match Decode(uint32_t offset, bool by_digest) const {
    const char* p = arena_.data() + offset;
    const uint8_t key_len = static_cast<uint8_t>(*p++);
    std::string_view key(p, key_len);
    p += key_len;
    const uint8_t meta = static_cast<uint8_t>(*p++);
    Match m;
    m.severity = static_cast<Severity>(meta & 3);
    m.reject_media = (meta & kRejectMedia) != 0;
    m.reject_reports = (meta & kRejectReports) != 0;
    m.path = paths_[GetVarint(p)];
    m.line = GetVarint(p);
    m.domain = key;
    m.written = key;
    if (meta & kHasWritten) m.written = String(GetVarint(p));
    if (meta & kHasComment) m.public_comment = String(GetVarint(p));
    m.by_digest = by_digest;
    if (by_digest) {  // the obfuscated form, never the raw digest bytes
      if ((meta & kHasWritten) == 0) m.written = {};
      m.domain = m.written;
    }
    return m;
  }
};

}  // namespace

struct DomainTableBuilder::Impl {
  // One entry as merged so far, in a fixed size so that merging rewrites it in place.
  struct Pending {
    uint32_t key = 0;  // offset of [length][bytes] in keys
    uint32_t path = 0;
    uint32_t line = 0;
    uint32_t written = kNoString;  // offset in strings
    uint32_t comment = kNoString;  // offset in strings
    uint8_t severity = 0;
    uint8_t flags = 0;
    bool digest = false;
    bool dead = false;  // a digest merged into the domain it hides
  };

  std::string keys;
  std::vector<Pending> pending;
  Index domains;  // values: indices into pending
  Index digests;
  std::string strings;
  absl::flat_hash_map<std::string, uint32_t> string_offsets;
  std::vector<std::string> paths;
  absl::flat_hash_map<std::string, uint32_t> path_ids;
  uint32_t last_path = 0;
  size_t digest_count = 0;

  Impl() {
    domains.Init(0, 0.75);
    digests.Init(0, 0.75);
  }

  std::string_view Key(const Pending& p) const {
    return {keys.data() + p.key + 1, static_cast<uint8_t>(keys[p.key])};
  }

  uint32_t Intern(std::string_view s) {
    auto [it, inserted] =
        string_offsets.try_emplace(std::string(s), static_cast<uint32_t>(strings.size()));
    if (inserted) {
      PutVarint(strings, static_cast<uint32_t>(s.size()));
      strings.append(s);
    }
    return it->second;
  }

  uint32_t PathId(const std::string& path) {
    if (last_path < paths.size() && paths[last_path] == path) return last_path;
    auto [it, inserted] = path_ids.try_emplace(path, static_cast<uint32_t>(paths.size()));
    if (inserted) paths.push_back(path);
    last_path = it->second;
    return last_path;
  }

  // Grows `index` (rehashing every key) when one more value would pass 75%.
  void Reserve(Index& index) {
    if ((index.size() + 1) * 4 <= index.capacity() * 3) return;
    Index bigger;
    bigger.Init(index.capacity() * 3 / 2, 0.75);  // twice the slots
    index.ForEach([&](uint32_t i) { bigger.Insert(HashKey(Key(pending[i])), i); });
    index = std::move(bigger);
  }

  void Add(const Entry& e) {
    std::string raw_digest;
    std::string_view key = e.domain;
    Index* index = &domains;
    if (key.empty()) {
      if (!internal::IsHexDigest(e.digest)) return;
      raw_digest.resize(kDigestBytes);
      for (size_t i = 0; i < kDigestBytes; ++i) {
        raw_digest[i] =
            static_cast<char>(HexValue(e.digest[2 * i]) * 16 + HexValue(e.digest[2 * i + 1]));
      }
      key = raw_digest;
      index = &digests;
    }
    if (key.size() > kMaxKey || keys.size() + key.size() + 1 > kMaxArena ||
        pending.size() >= kNoString) {
      return;
    }
    const uint64_t hash = HashKey(key);
    const uint8_t* slot = index->Find(hash, [&](uint32_t i) { return Key(pending[i]) == key; });
    const uint8_t severity = static_cast<uint8_t>(e.severity) & 3;
    const uint8_t flags =
        (e.reject_media ? kRejectMedia : 0) | (e.reject_reports ? kRejectReports : 0);
    if (slot != nullptr) {
      Pending& p = pending[Index::Value(slot)];
      p.flags |= flags;
      if (severity > p.severity) {
        p.severity = severity;
        SetSource(p, e);
      }
      return;
    }
    Reserve(*index);
    Pending p;
    p.key = static_cast<uint32_t>(keys.size());
    keys += static_cast<char>(key.size());
    keys.append(key);
    p.severity = severity;
    p.flags = flags;
    p.digest = index == &digests;
    SetSource(p, e);
    index->Insert(hash, static_cast<uint32_t>(pending.size()));
    pending.push_back(p);
    if (p.digest) ++digest_count;
  }

  // Where the severity of `p` comes from: `e`'s file, line, written form and comment.
  void SetSource(Pending& p, const Entry& e) {
    p.path = PathId(e.path);
    p.line = e.line;
    p.written = !e.written.empty() && e.written != e.domain ? Intern(e.written) : kNoString;
    p.comment = e.public_comment.empty() ? kNoString : Intern(e.public_comment);
  }

  // Folds each digest entry whose domain is also known in clear into that domain's entry.
  void MergeDigestsIntoDomains() {
    if (digest_count == 0) return;
    for (Pending& p : pending) {
      if (p.digest) continue;
      std::array<char, kDigestBytes> digest = Sha256(Key(p));
      std::string_view key(digest.data(), digest.size());
      const uint8_t* slot =
          digests.Find(HashKey(key), [&](uint32_t i) { return Key(pending[i]) == key; });
      if (slot == nullptr) continue;
      Pending& d = pending[Index::Value(slot)];
      if (d.dead) continue;
      d.dead = true;
      p.flags |= d.flags;
      if (d.severity > p.severity) {
        p.severity = d.severity;
        p.path = d.path;
        p.line = d.line;
        p.written = d.written;
        p.comment = d.comment;
      }
    }
  }

  std::shared_ptr<const DomainTable> Build() {
    MergeDigestsIntoDomains();
    domains = Index();  // not needed any more: lower the peak
    digests = Index();
    auto table = std::make_shared<CompactTable>();
    size_t live_domains = 0, live_digests = 0, key_bytes = 0;
    for (const Pending& p : pending) {
      if (p.dead) continue;
      ++(p.digest ? live_digests : live_domains);
      key_bytes += Key(p).size();
    }
    table->index_.Init(live_domains, 0.7);
    table->digests_.Init(live_digests, 0.7);
    std::string& arena = table->arena_;
    arena.reserve(key_bytes + (live_domains + live_digests) * 6);
    table->filter_.assign(live_domains / 8 + 1, 0);  // 8 bits per domain
    table->paths_ = paths;
    absl::flat_hash_map<uint32_t, uint32_t> moved;  // strings offset -> table->strings_ offset
    auto move_string = [&](uint32_t offset) {
      auto [it, inserted] =
          moved.try_emplace(offset, static_cast<uint32_t>(table->strings_.size()));
      if (inserted) {
        const char* p = strings.data() + offset;
        uint32_t len = GetVarint(p);
        PutVarint(table->strings_, len);
        table->strings_.append(p, len);
      }
      return it->second;
    };
    for (const Pending& p : pending) {
      if (p.dead) continue;
      std::string_view key = Key(p);
      const uint32_t offset = static_cast<uint32_t>(arena.size());
      uint8_t meta = p.severity | p.flags;
      if (p.written != kNoString) meta |= kHasWritten;
      if (p.comment != kNoString) meta |= kHasComment;
      arena += static_cast<char>(key.size());
      arena.append(key);
      arena += static_cast<char>(meta);
      PutVarint(arena, p.path);
      PutVarint(arena, p.line);
      if (p.written != kNoString) PutVarint(arena, move_string(p.written));
      if (p.comment != kNoString) PutVarint(arena, move_string(p.comment));
      (p.digest ? table->digests_ : table->index_).Insert(HashKey(key), offset);
      if (!p.digest) {
        table->AddToFilter(HashKey(key));
        size_t labels = static_cast<size_t>(std::count(key.begin(), key.end(), '.')) + 1;
        table->label_counts_ |= uint64_t{1} << std::min<size_t>(labels, 63);
      }
    }
    arena.shrink_to_fit();
    table->strings_.shrink_to_fit();
    return table;
  }
};

DomainTableBuilder::DomainTableBuilder() : impl_(std::make_unique<Impl>()) {}
DomainTableBuilder::~DomainTableBuilder() = default;
DomainTableBuilder::DomainTableBuilder(DomainTableBuilder&&) noexcept = default;
DomainTableBuilder& DomainTableBuilder::operator=(DomainTableBuilder&&) noexcept = default;

void DomainTableBuilder::Add(const Entry& entry) {
  if (impl_ == nullptr) impl_ = std::make_unique<Impl>();
  impl_->Add(entry);
}

void DomainTableBuilder::Add(const ParseResult& parsed) {
  for (const Entry& e : parsed.entries) Add(e);
}

std::shared_ptr<const DomainTable> DomainTableBuilder::Build() && {
  if (impl_ == nullptr) impl_ = std::make_unique<Impl>();
  std::shared_ptr<const DomainTable> table = impl_->Build();
  impl_ = std::make_unique<Impl>();
  return table;
}

}  // namespace fedwall::blocklist
