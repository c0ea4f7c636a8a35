#include "web/web_assets.h"

namespace vfax::web {

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

const Asset* findAsset(std::string_view path) {
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    if (kAssets[i].path == path) return &kAssets[i];
  }
  return nullptr;
}

}  // namespace vfax::web
