#ifndef GREENGRASS_CYAML_SHIM_H
#define GREENGRASS_CYAML_SHIM_H

// The YAML 1.1 parser and emitter from libyaml (Debian: libyaml-dev), the same C library Yams bundles.
#include <yaml.h>

#endif
