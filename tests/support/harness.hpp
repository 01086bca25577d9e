// Test harness: see harness.cpp.
#pragma once
