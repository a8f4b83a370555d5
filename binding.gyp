{
  "targets": [
    {
      "target_name": "gantry",
      "sources": ["native/ops.cc", "native/tensor.cc", "native/dist.cc", "native/gemm.cc", "native/malloc.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs --include)",
        "native/shim"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "<!@(node scripts/libtorch.mjs --cflags)"],
      "libraries": ["<!@(node scripts/libtorch.mjs --libs)"]
    }
  ]
}
