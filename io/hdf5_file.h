// Thin RAII layer over the HDF5 C API, shared by dataset shards and (later) checkpoints.
// Every failing call throws DataError naming the file and the object, instead of printing
// HDF5's error stack; nothing here leaks a handle on the error path.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace engine::io::h5 {

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept { *this = std::move(other); }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  hid_t get() const { return id_; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

template <typename T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, std::int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return H5T_NATIVE_DOUBLE;
  else
    static_assert(sizeof(T) == 0, "unsupported HDF5 element type");
}

class File {
 public:
  static File create(const std::string& path);  // truncates
  static File open_read(const std::string& path);
  const std::string& path() const { return path_; }
  hid_t id() const { return handle_.get(); }

  bool has(const std::string& name) const;
  void create_group(const std::string& name);

  // Attributes on the root group or on a named object ("/" for the root).
  void set_attr(const std::string& object, const std::string& name, std::int64_t value);
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name,
                const std::vector<std::string>& values);
  std::int64_t attr_int(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;

  // A fixed-size 1-D dataset written at once; compressed when chunk > 0 and data is not empty.
  template <typename T>
  void write(const std::string& name, std::span<const T> data, std::size_t chunk = 0) {
    write_raw(name, native_type<T>(), data.data(), data.size(), chunk);
  }
  void write_strings(const std::string& name, const std::vector<std::string>& values);

  std::size_t length(const std::string& name) const;  // elements of a 1-D dataset
  template <typename T>
  std::vector<T> read(const std::string& name) const {
    std::vector<T> out(length(name));
    read_raw(name, native_type<T>(), out.data(), 0, out.size());
    return out;
  }
  template <typename T>
  void read_range(const std::string& name, std::size_t start, std::span<T> out) const {
    read_raw(name, native_type<T>(), out.data(), start, out.size());
  }
  std::vector<std::string> read_strings(const std::string& name) const;

  std::string where(const std::string& object) const { return path_ + ":" + object; }

 private:
  File(std::string path, Handle handle) : path_(std::move(path)), handle_(std::move(handle)) {}
  void write_raw(const std::string& name, hid_t type, const void* data, std::size_t count,
                 std::size_t chunk);
  void read_raw(const std::string& name, hid_t type, void* data, std::size_t start,
                std::size_t count) const;
  Handle open_attr(const std::string& object, const std::string& name) const;

  std::string path_;
  Handle handle_;
};

// A 1-D dataset that grows by appending (chunked, shuffle + deflate), for streams whose length
// is not known in advance.
class AppendableDataset {
 public:
  AppendableDataset(File& file, const std::string& name, hid_t type, std::size_t chunk);
  template <typename T>
  void append(std::span<const T> data) {
    append_raw(native_type<T>(), data.data(), data.size());
  }
  std::size_t size() const { return size_; }
  hid_t id() const { return dataset_.get(); }
  const std::string& where() const { return where_; }
  // Sets the extent without writing (for callers that write chunks directly).
  void resize(std::size_t size);

 private:
  void append_raw(hid_t type, const void* data, std::size_t count);
  std::string where_;
  Handle dataset_;
  std::size_t size_ = 0;
};

// The deflate level chunked datasets declare (and that direct chunk writers must match).
int deflate_level();

// Silences HDF5's automatic error printing for the process (we report errors ourselves).
void quiet_errors();

}  // namespace engine::io::h5
