#include "io/hdf5_file.h"

#include <utility>

#include "io/data_error.h"

namespace engine::io::h5 {

namespace {

constexpr int kDeflateLevel = 1;  // after shuffle, level 1 is nearly as small and far faster
}  // namespace

int deflate_level() {
  return kDeflateLevel;
}

namespace {

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw DataError(what);
  return id;
}

void checked_status(herr_t status, const std::string& what) {
  if (status < 0) throw DataError(what);
}

Handle make_dataspace_1d(std::size_t count, std::size_t max_count) {
  const hsize_t dims[1] = {count};
  const hsize_t max_dims[1] = {max_count};
  return {checked(H5Screate_simple(1, dims, max_dims), "HDF5: cannot create dataspace"), H5Sclose};
}

Handle string_type() {
  Handle type(checked(H5Tcopy(H5T_C_S1), "HDF5: cannot copy string type"), H5Tclose);
  checked_status(H5Tset_size(type.get(), H5T_VARIABLE), "HDF5: cannot make vlen string type");
  checked_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "HDF5: cannot set UTF-8");
  return type;
}

Handle chunked_properties(std::size_t chunk) {
  Handle props(checked(H5Pcreate(H5P_DATASET_CREATE), "HDF5: cannot create properties"), H5Pclose);
  const hsize_t chunk_dims[1] = {chunk};
  checked_status(H5Pset_chunk(props.get(), 1, chunk_dims), "HDF5: cannot set chunking");
  checked_status(H5Pset_shuffle(props.get()), "HDF5: cannot set shuffle");
  checked_status(H5Pset_deflate(props.get(), kDeflateLevel), "HDF5: cannot set deflate");
  return props;
}

}  // namespace

void quiet_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    closer_ = std::exchange(other.closer_, nullptr);
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);
  id_ = H5I_INVALID_HID;
}

File File::create(const std::string& path) {
  quiet_errors();
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  return File(path, Handle(checked(id, path + ": cannot create HDF5 file"), H5Fclose));
}

File File::open_read(const std::string& path) {
  quiet_errors();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  return File(
      path,
      Handle(checked(id, path + ": cannot open as HDF5 (missing or not an HDF5 file)"), H5Fclose));
}

bool File::has(const std::string& name) const {
  return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0;
}

void File::create_group(const std::string& name) {
  Handle group(checked(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       where(name) + ": cannot create group"),
               H5Gclose);
}

namespace {

template <typename Fn>
void with_new_attr(hid_t file, const std::string& where, const std::string& object,
                   const std::string& name, hid_t type, hid_t space, Fn&& write) {
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    checked_status(H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT),
                   where + ": cannot replace attribute " + name);
  }
  Handle attr(checked(H5Acreate_by_name(file, object.c_str(), name.c_str(), type, space,
                                        H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      where + ": cannot create attribute " + name),
              H5Aclose);
  checked_status(write(attr.get()), where + ": cannot write attribute " + name);
}

}  // namespace

void File::set_attr(const std::string& object, const std::string& name, std::int64_t value) {
  Handle space(checked(H5Screate(H5S_SCALAR), "HDF5: cannot create scalar space"), H5Sclose);
  with_new_attr(id(), where(object), object, name, H5T_NATIVE_INT64, space.get(),
                [&](hid_t attr) { return H5Awrite(attr, H5T_NATIVE_INT64, &value); });
}

void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  Handle space(checked(H5Screate(H5S_SCALAR), "HDF5: cannot create scalar space"), H5Sclose);
  Handle type = string_type();
  const char* text = value.c_str();
  with_new_attr(id(), where(object), object, name, type.get(), space.get(),
                [&](hid_t attr) { return H5Awrite(attr, type.get(), &text); });
}

void File::set_attr(const std::string& object, const std::string& name,
                    const std::vector<std::string>& values) {
  Handle space = make_dataspace_1d(values.size(), values.size());
  Handle type = string_type();
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  with_new_attr(id(), where(object), object, name, type.get(), space.get(),
                [&](hid_t attr) { return H5Awrite(attr, type.get(), pointers.data()); });
}

Handle File::open_attr(const std::string& object, const std::string& name) const {
  const hid_t attr = H5Aopen_by_name(id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  return {checked(attr, where(object) + ": missing attribute '" + name + "'"), H5Aclose};
}

std::int64_t File::attr_int(const std::string& object, const std::string& name) const {
  Handle attr = open_attr(object, name);
  std::int64_t value = 0;
  checked_status(H5Aread(attr.get(), H5T_NATIVE_INT64, &value),
                 where(object) + ": attribute '" + name + "' is not an integer");
  return value;
}

namespace {

std::vector<std::string> read_vlen_strings(hid_t object, bool is_attribute, std::size_t count,
                                           const std::string& what) {
  Handle type = string_type();
  std::vector<char*> pointers(count, nullptr);
  const herr_t status =
      is_attribute ? H5Aread(object, type.get(), pointers.data())
                   : H5Dread(object, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data());
  checked_status(status, what + ": not a list of strings");
  std::vector<std::string> out;
  out.reserve(count);
  for (char* p : pointers) {
    out.emplace_back(p == nullptr ? "" : p);
    H5free_memory(p);
  }
  return out;
}

std::size_t space_elements(hid_t space) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

}  // namespace

std::string File::attr_string(const std::string& object, const std::string& name) const {
  Handle attr = open_attr(object, name);
  Handle space(checked(H5Aget_space(attr.get()), "HDF5: attribute space"), H5Sclose);
  auto values = read_vlen_strings(attr.get(), true, 1, where(object) + " attribute " + name);
  if (space_elements(space.get()) != 1)
    throw DataError(where(object) + ": attribute '" + name + "' is not a single string");
  return values.front();
}

std::vector<std::string> File::attr_strings(const std::string& object,
                                            const std::string& name) const {
  Handle attr = open_attr(object, name);
  Handle space(checked(H5Aget_space(attr.get()), "HDF5: attribute space"), H5Sclose);
  return read_vlen_strings(attr.get(), true, space_elements(space.get()),
                           where(object) + " attribute " + name);
}

void File::write_raw(const std::string& name, hid_t type, const void* data, std::size_t count,
                     std::size_t chunk) {
  Handle space = make_dataspace_1d(count, count);
  Handle props(checked(H5Pcreate(H5P_DATASET_CREATE), "HDF5: properties"), H5Pclose);
  if (chunk > 0 && count > 0) props = chunked_properties(std::min(chunk, count));
  Handle dataset(checked(H5Dcreate2(id(), name.c_str(), type, space.get(), H5P_DEFAULT, props.get(),
                                    H5P_DEFAULT),
                         where(name) + ": cannot create dataset"),
                 H5Dclose);
  if (count > 0) {
    checked_status(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                   where(name) + ": cannot write dataset");
  }
}

void File::write_strings(const std::string& name, const std::vector<std::string>& values) {
  Handle space = make_dataspace_1d(values.size(), values.size());
  Handle type = string_type();
  Handle dataset(checked(H5Dcreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                    H5P_DEFAULT, H5P_DEFAULT),
                         where(name) + ": cannot create dataset"),
                 H5Dclose);
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (!values.empty()) {
    checked_status(
        H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
        where(name) + ": cannot write strings");
  }
}

std::size_t File::length(const std::string& name) const {
  Handle dataset(
      checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), where(name) + ": missing dataset"),
      H5Dclose);
  Handle space(checked(H5Dget_space(dataset.get()), where(name) + ": no dataspace"), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    throw DataError(where(name) + ": expected a 1-D dataset");
  }
  return space_elements(space.get());
}

void File::read_raw(const std::string& name, hid_t type, void* data, std::size_t start,
                    std::size_t count) const {
  Handle dataset(
      checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), where(name) + ": missing dataset"),
      H5Dclose);
  Handle file_space(checked(H5Dget_space(dataset.get()), where(name) + ": no dataspace"), H5Sclose);
  const std::size_t total = space_elements(file_space.get());
  if (start + count > total) {
    throw DataError(where(name) + ": read of [" + std::to_string(start) + ", " +
                    std::to_string(start + count) + ") past its " + std::to_string(total) +
                    " elements");
  }
  if (count == 0) return;
  const hsize_t offset[1] = {start};
  const hsize_t extent[1] = {count};
  checked_status(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, extent, nullptr),
      where(name) + ": bad selection");
  Handle memory_space = make_dataspace_1d(count, count);
  checked_status(
      H5Dread(dataset.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      where(name) + ": cannot read (corrupt file or wrong element type)");
}

std::vector<std::string> File::read_strings(const std::string& name) const {
  Handle dataset(
      checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), where(name) + ": missing dataset"),
      H5Dclose);
  Handle space(checked(H5Dget_space(dataset.get()), where(name) + ": no dataspace"), H5Sclose);
  return read_vlen_strings(dataset.get(), false, space_elements(space.get()), where(name));
}

AppendableDataset::AppendableDataset(File& file, const std::string& name, hid_t type,
                                     std::size_t chunk)
    : where_(file.where(name)) {
  Handle space = make_dataspace_1d(0, H5S_UNLIMITED);
  Handle props = chunked_properties(chunk);
  dataset_ = Handle(checked(H5Dcreate2(file.id(), name.c_str(), type, space.get(), H5P_DEFAULT,
                                       props.get(), H5P_DEFAULT),
                            where_ + ": cannot create dataset"),
                    H5Dclose);
}

void AppendableDataset::resize(std::size_t size) {
  const hsize_t new_size[1] = {size};
  checked_status(H5Dset_extent(dataset_.get(), new_size), where_ + ": cannot extend");
  size_ = size;
}

void AppendableDataset::append_raw(hid_t type, const void* data, std::size_t count) {
  if (count == 0) return;
  const hsize_t new_size[1] = {size_ + count};
  checked_status(H5Dset_extent(dataset_.get(), new_size), where_ + ": cannot extend");
  Handle file_space(checked(H5Dget_space(dataset_.get()), where_ + ": no dataspace"), H5Sclose);
  const hsize_t offset[1] = {size_};
  const hsize_t extent[1] = {count};
  checked_status(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset, nullptr, extent, nullptr),
      where_ + ": bad selection");
  Handle memory_space = make_dataspace_1d(count, count);
  checked_status(
      H5Dwrite(dataset_.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      where_ + ": cannot write");
  size_ += count;
}

}  // namespace engine::io::h5
