# Native backend of qkv (build/Release/qkv_native.node), built by scripts/build-native.mjs at install.
# The kernels for AVX-512 / AVX2 are compiled with function-level target pragmas inside
# native/isa_*.cc and chosen at load time, so no file is built with -march: the binary runs on any
# x86-64 (and the portable variant on arm64). -ffp-contract=off keeps plain C++ arithmetic unfused so
# the float64 paths round exactly like the reference JavaScript kernels. -Werror=switch makes every
# switch over an op enum (generated into native/gen/qkv_ops.h from src/backend/op-table.ts) exhaustive.
{
  "targets": [
    {
      "target_name": "qkv_native",
      "sources": [
        "native/addon.cc",
        "native/pool.cc",
        "native/generic.cc",
        "native/isa_generic.cc",
        "native/isa_avx2.cc",
        "native/isa_avx512.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fvisibility=hidden", "-Wno-psabi", "-Wno-maybe-uninitialized", "-Werror=switch"],
      "cflags_cc": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fvisibility=hidden", "-Wno-psabi", "-Wno-maybe-uninitialized", "-Werror=switch"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0",
        "OTHER_CFLAGS": ["-O3", "-fno-math-errno", "-ffp-contract=off", "-fvisibility=hidden"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 0, "AdditionalOptions": ["/std:c++17", "/O2"] }
      }
    }
  ]
}
