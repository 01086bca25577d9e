#include "options.hpp"
