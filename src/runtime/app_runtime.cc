#include "runtime/app_runtime.h"
