// Provider input from the API: a JSON body (the stored field names, plus "api_key" in plain
// text, "template" and "free_tier") into a validated config::Provider, on top of an existing one
// for updates. Shared by the providers API and the connectivity test (which tests a provider
// before it is saved).
#pragma once
#include <rapidjson/document.h>

#include "api.h"
#include "config/model.h"

namespace lingmo::cp {

Result<config::Provider> provider_from_body(App& app, const rapidjson::Value& body, const config::Provider* existing);

}  // namespace lingmo::cp
