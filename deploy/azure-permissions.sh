#!/usr/bin/env bash
# wid-bot's own Azure identity and the least permissions it needs. Idempotent: run it again after
# changing the policy's roles or scopes; it creates what is missing and fixes conditions that differ.
#
#   1. A user-assigned managed identity for wid-bot, federated with its Kubernetes ServiceAccount
#      (wid/wid-bot), so wid-bot signs in with workload identity: no secret anywhere.
#   2. Managed Identity Contributor on the resource group where wid-bot creates identities:
#      create/read/delete user-assigned identities and their federated identity credentials.
#   3. Role Based Access Control Administrator on each scope the policy lets people request roles at,
#      with an ABAC condition: it may create or delete role assignments ONLY for the policy's role
#      definitions and ONLY for principals of type ServicePrincipal (managed identities are service
#      principals). It cannot grant itself or any user anything, nor any other role.
#   4. Reader on each AKS cluster (Microsoft.ContainerService/managedClusters/read): wid-bot reads the
#      cluster's OIDC issuer URL and whether workload identity is on. Kubernetes API access comes from
#      the in-cluster RBAC in manifests/base/rbac.yaml, so no AKS Cluster User/Admin role is needed.
#   5. Only with AZURE_SCHEDULES=true (a policy role sets `expiry: azure`): a custom role, "wid-bot role
#      assignment schedules", on each granted scope, with exactly what Azure's own schedule needs and
#      nothing else: roleAssignmentScheduleRequests write (AdminAssign, AdminUpdate, AdminRemove) and read
#      (a retried request is read back), and read of roleAssignmentSchedules and roleAssignmentScheduleInstances
#      (a later grant finds the schedule it shares; `wid audit` sees assignments Azure's schedule holds).
#      Requires Entra ID P2 (or ID Governance) in the tenant.
#
# Requires: az CLI logged in as someone who may assign roles at these scopes (Owner or User Access
# Administrator). Every value below can also be given as an environment variable of the same name.
set -euo pipefail

# ───────────────────────────── settings (edit these) ─────────────────────────────
SUBSCRIPTION_ID="${SUBSCRIPTION_ID:-00000000-0000-0000-0000-000000000000}"
# Where wid-bot's own identity lives.
BOT_RESOURCE_GROUP="${BOT_RESOURCE_GROUP:-rg-wid-bot}"
BOT_IDENTITY_NAME="${BOT_IDENTITY_NAME:-id-wid-bot}"
LOCATION="${LOCATION:-westeurope}"
# The AKS cluster wid-bot runs in (its OIDC issuer signs wid-bot's ServiceAccount tokens).
HOME_AKS_RESOURCE_GROUP="${HOME_AKS_RESOURCE_GROUP:-rg-aks-prod}"
HOME_AKS_NAME="${HOME_AKS_NAME:-aks-prod-blue}"
BOT_NAMESPACE="${BOT_NAMESPACE:-wid}"
BOT_SERVICE_ACCOUNT="${BOT_SERVICE_ACCOUNT:-wid-bot}"
# The policy's identities.resourceGroup (identities.subscription is SUBSCRIPTION_ID here).
IDENTITIES_RESOURCE_GROUP="${IDENTITIES_RESOURCE_GROUP:-rg-workload-identities}"
# Space-separated ARM ids where roles may be granted: the policy's role scopes (use the resource group
# or subscription that a pattern like .../vaults/* lives under).
GRANTED_SCOPES="${GRANTED_SCOPES:-/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/rg-apps}"
# The policy's role names (one per line) or role definition GUIDs; resolved to GUIDs with az.
POLICY_ROLES="${POLICY_ROLES:-Key Vault Secrets User
Storage Blob Data Reader}"
# Space-separated ARM ids of every AKS cluster in the policy.
AKS_CLUSTER_IDS="${AKS_CLUSTER_IDS:-/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${HOME_AKS_RESOURCE_GROUP}/providers/Microsoft.ContainerService/managedClusters/${HOME_AKS_NAME}}"
# true when a policy role sets `expiry: azure` (Azure's own schedule ends its grants): adds step 5.
AZURE_SCHEDULES="${AZURE_SCHEDULES:-false}"
SCHEDULES_ROLE_NAME="${SCHEDULES_ROLE_NAME:-wid-bot role assignment schedules}"
# Print the commands that would change something instead of running them.
DRY_RUN="${DRY_RUN:-false}"

# Built-in role definition ids (the same in every tenant).
MANAGED_IDENTITY_CONTRIBUTOR="e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
RBAC_ADMINISTRATOR="f58310d9-a9f6-439a-9e8d-f62e7b41a168"
READER="acdd72a7-3385-48ef-bd42-f606fba81ae7"

# ───────────────────────────── helpers ─────────────────────────────
say() { printf '%s\n' "$*" >&2; }
change() {
  if [ "$DRY_RUN" = "true" ]; then
    say "dry run: az $*"
  else
    az "$@" --only-show-errors >/dev/null
  fi
}
is_guid() { [[ "$1" =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]; }

# The ABAC condition (version 2.0): writes and deletes of role assignments only for ROLE_GUIDS and
# only for service principals; every other action of the role (reads) is unaffected.
abac_condition() {
  local guids="$1"
  printf '%s' "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${guids}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'ServicePrincipal')) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${guids}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'ServicePrincipal'))"
}

# Assign ROLE to the bot at SCOPE (with an optional CONDITION); skip when an identical one exists,
# replace it when the condition differs.
ensure_assignment() {
  local role="$1" scope="$2" condition="${3:-}" existing
  existing="$(az role assignment list --assignee "$BOT_PRINCIPAL_ID" --role "$role" --scope "$scope" \
    --query "[?scope=='${scope}'].{id:id, condition:condition}" -o tsv --only-show-errors)"
  if [ -n "$existing" ]; then
    local id current
    id="$(printf '%s\n' "$existing" | head -n1 | cut -f1)"
    current="$(printf '%s\n' "$existing" | head -n1 | cut -f2-)"
    if [ "$current" = "$condition" ] || { [ -z "$condition" ] && [ "$current" = "None" ]; }; then
      say "ok: role $role at $scope"
      return
    fi
    say "update: role $role at $scope has a different condition; replacing it"
    change role assignment delete --ids "$id"
  else
    say "create: role $role at $scope"
  fi
  if [ -n "$condition" ]; then
    change role assignment create --assignee-object-id "$BOT_PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \
      --role "$role" --scope "$scope" --condition "$condition" --condition-version "2.0" \
      --description "wid-bot: assign only the policy's roles, only to service principals"
  else
    change role assignment create --assignee-object-id "$BOT_PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \
      --role "$role" --scope "$scope"
  fi
}

# ───────────────────────────── 0. the role GUIDs the policy grants ─────────────────────────────
az account set --subscription "$SUBSCRIPTION_ID"
ROLE_GUIDS=()
while IFS= read -r role; do
  role="$(printf '%s' "$role" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')"
  [ -z "$role" ] && continue
  if is_guid "$role"; then
    ROLE_GUIDS+=("$(printf '%s' "$role" | tr 'A-F' 'a-f')")
  else
    guid="$(az role definition list --name "$role" --scope "/subscriptions/${SUBSCRIPTION_ID}" --query "[0].name" -o tsv --only-show-errors)"
    if [ -z "$guid" ]; then
      say "error: no role definition named \"$role\" in subscription $SUBSCRIPTION_ID"
      exit 1
    fi
    ROLE_GUIDS+=("$guid")
  fi
done <<<"$POLICY_ROLES"
if [ "${#ROLE_GUIDS[@]}" -eq 0 ]; then
  say "error: POLICY_ROLES is empty; list the policy's role names"
  exit 1
fi
# Refuse roles that would let wid-bot hand out the keys of the kingdom.
for guid in "${ROLE_GUIDS[@]}"; do
  case "$guid" in
    8e3af657-a8ff-443c-a75c-2fe8c4bcb635 | 18d7d88d-d35e-4fb5-a5c3-7773c20a72d9 | "$RBAC_ADMINISTRATOR")
      say "error: role $guid (Owner, User Access Administrator or RBAC Administrator) cannot be delegated to wid-bot"
      exit 1
      ;;
  esac
done
GUID_LIST="$(IFS=,; printf '%s' "${ROLE_GUIDS[*]}" | sed 's/,/, /g')"
say "policy roles: ${GUID_LIST}"

# ───────────────────────────── 1. wid-bot's own identity ─────────────────────────────
if ! az group show --name "$BOT_RESOURCE_GROUP" --only-show-errors >/dev/null 2>&1; then
  say "create: resource group $BOT_RESOURCE_GROUP"
  change group create --name "$BOT_RESOURCE_GROUP" --location "$LOCATION"
fi
if ! az identity show --resource-group "$BOT_RESOURCE_GROUP" --name "$BOT_IDENTITY_NAME" --only-show-errors >/dev/null 2>&1; then
  say "create: identity $BOT_IDENTITY_NAME"
  change identity create --resource-group "$BOT_RESOURCE_GROUP" --name "$BOT_IDENTITY_NAME" --location "$LOCATION" --tags managed-by=wid-bot-setup
fi
BOT_CLIENT_ID="$(az identity show --resource-group "$BOT_RESOURCE_GROUP" --name "$BOT_IDENTITY_NAME" --query clientId -o tsv --only-show-errors 2>/dev/null || true)"
BOT_PRINCIPAL_ID="$(az identity show --resource-group "$BOT_RESOURCE_GROUP" --name "$BOT_IDENTITY_NAME" --query principalId -o tsv --only-show-errors 2>/dev/null || true)"
if [ -z "$BOT_PRINCIPAL_ID" ]; then
  [ "$DRY_RUN" = "true" ] || { say "error: identity $BOT_IDENTITY_NAME has no principal id"; exit 1; }
  BOT_PRINCIPAL_ID="<principal id of ${BOT_IDENTITY_NAME}>"
fi

ISSUER="$(az aks show --resource-group "$HOME_AKS_RESOURCE_GROUP" --name "$HOME_AKS_NAME" --query oidcIssuerProfile.issuerUrl -o tsv --only-show-errors)"
if [ -z "$ISSUER" ]; then
  say "error: $HOME_AKS_NAME has no OIDC issuer: az aks update -g $HOME_AKS_RESOURCE_GROUP -n $HOME_AKS_NAME --enable-oidc-issuer --enable-workload-identity"
  exit 1
fi
SUBJECT="system:serviceaccount:${BOT_NAMESPACE}:${BOT_SERVICE_ACCOUNT}"
FIC_NAME="wid-bot-${HOME_AKS_NAME}"
current_subject="$(az identity federated-credential show --resource-group "$BOT_RESOURCE_GROUP" --identity-name "$BOT_IDENTITY_NAME" --name "$FIC_NAME" \
  --query "join('|', [issuer, subject])" -o tsv --only-show-errors 2>/dev/null || true)"
if [ "$current_subject" = "${ISSUER}|${SUBJECT}" ]; then
  say "ok: federated credential $FIC_NAME"
else
  say "create: federated credential $FIC_NAME ($SUBJECT from $ISSUER)"
  change identity federated-credential create --resource-group "$BOT_RESOURCE_GROUP" --identity-name "$BOT_IDENTITY_NAME" --name "$FIC_NAME" \
    --issuer "$ISSUER" --subject "$SUBJECT" --audiences api://AzureADTokenExchange
fi

# ───────────────────────────── 2. identities: Managed Identity Contributor ─────────────────────────────
ensure_assignment "$MANAGED_IDENTITY_CONTRIBUTOR" "/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${IDENTITIES_RESOURCE_GROUP}"

# ───────────────────────────── 3. granted scopes: RBAC Administrator with the ABAC condition ─────────────────────────────
CONDITION="$(abac_condition "$GUID_LIST")"
for scope in $GRANTED_SCOPES; do
  ensure_assignment "$RBAC_ADMINISTRATOR" "$scope" "$CONDITION"
done

# ───────────────────────────── 4. AKS clusters: Reader ─────────────────────────────
for cluster in $AKS_CLUSTER_IDS; do
  ensure_assignment "$READER" "$cluster"
done

# ───────────────────────────── 5. expiry: azure — the schedules' custom role ─────────────────────────────
# Exactly these actions, nothing more (no roleAssignments/*, no eligibility schedules, no policies).
SCHEDULE_ACTIONS="Microsoft.Authorization/roleAssignmentScheduleInstances/read
Microsoft.Authorization/roleAssignmentScheduleRequests/read
Microsoft.Authorization/roleAssignmentScheduleRequests/write
Microsoft.Authorization/roleAssignmentSchedules/read"
if [ "$AZURE_SCHEDULES" = "true" ]; then
  assignable=""
  for scope in $GRANTED_SCOPES; do assignable="${assignable:+${assignable}, }\"${scope}\""; done
  actions=""
  while IFS= read -r a; do actions="${actions:+${actions}, }\"${a}\""; done <<<"$SCHEDULE_ACTIONS"
  definition="{\"Name\": \"${SCHEDULES_ROLE_NAME}\", \"IsCustom\": true, \"Description\": \"wid-bot: Azure's own schedules for grants with expiry: azure (AdminAssign, AdminUpdate, AdminRemove) and reading them back\", \"Actions\": [${actions}], \"NotActions\": [], \"DataActions\": [], \"NotDataActions\": [], \"AssignableScopes\": [${assignable}]}"
  current_actions="$(az role definition list --name "$SCHEDULES_ROLE_NAME" --custom-role-only true --scope "/subscriptions/${SUBSCRIPTION_ID}" \
    --query "[0].permissions[0].actions[]" -o tsv --only-show-errors | sort)"
  current_scopes="$(az role definition list --name "$SCHEDULES_ROLE_NAME" --custom-role-only true --scope "/subscriptions/${SUBSCRIPTION_ID}" \
    --query "[0].assignableScopes[]" -o tsv --only-show-errors | sort)"
  wanted_scopes="$(printf '%s\n' $GRANTED_SCOPES | sort)"
  if [ -z "$current_actions" ]; then
    say "create: custom role \"$SCHEDULES_ROLE_NAME\""
    change role definition create --role-definition "$definition"
  elif [ "$current_actions" != "$(printf '%s\n' "$SCHEDULE_ACTIONS" | sort)" ] || [ "$current_scopes" != "$wanted_scopes" ]; then
    say "update: custom role \"$SCHEDULES_ROLE_NAME\" has other actions or scopes; setting them"
    change role definition update --role-definition "$definition"
  else
    say "ok: custom role \"$SCHEDULES_ROLE_NAME\""
  fi
  for scope in $GRANTED_SCOPES; do
    ensure_assignment "$SCHEDULES_ROLE_NAME" "$scope"
  done
fi

say ""
say "Done. Put wid-bot's client id on its ServiceAccount (manifests/base/serviceaccount.yaml):"
say "  azure.workload.identity/client-id: \"${BOT_CLIENT_ID:-<client id of ${BOT_IDENTITY_NAME}>}\""
