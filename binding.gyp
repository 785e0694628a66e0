{
  "targets": [
    {
      "target_name": "tsvmm",
      "sources": ["native/tsvmm.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
