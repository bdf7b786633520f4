/*
 * kubectl's exec credential plugins: the ExecCredential document
 * (client.authentication.k8s.io) that `token --exec-credential` prints, in
 * the apiVersion kubectl asks for in KUBERNETES_EXEC_INFO. Pure: the caller
 * reads the environment (paths.h) and the grant.
 *
 * MUST: the document holds the access token and nothing else secret (never
 * the refresh token); its text is freed with spk_secret_free().
 */
#pragma once

#include <stdint.h>

#include "error.h"

#define SPK_KUBE_API_V1 "client.authentication.k8s.io/v1"
#define SPK_KUBE_API_V1BETA1 "client.authentication.k8s.io/v1beta1"

/*
 * The apiVersion to answer in, from KUBERNETES_EXEC_INFO's text (NULL:
 * unset, as kubectl before 1.22 with v1beta1 left it, and as a person
 * running the command by hand does: v1). *ret is one of the constants
 * above. A document that is not JSON, has no apiVersion, or asks for a
 * version sparekey does not speak: -EPROTONOSUPPORT or -EBADMSG,
 * SPK_ERR_CONFIG (the kubeconfig's exec section chooses the version).
 */
int spk_kube_api_version(const char *exec_info, const char **ret, struct spk_error *err);

/*
 * The ExecCredential in api_version, compactly rendered:
 * {"apiVersion":…,"kind":"ExecCredential","status":{"token":…,
 * "expirationTimestamp":"2026-12-04T23:10:00Z"}}, without
 * expirationTimestamp when expires_at is 0 (unknown: kubectl then uses the
 * token until the server refuses it). *ret is a secret.
 */
int spk_kube_exec_credential(const char *api_version, const char *token, int64_t expires_at,
			     char **ret);

/* expires_at as RFC 3339 in UTC ("2026-12-04T23:10:00Z") in buf (at least 21 bytes). */
int spk_kube_rfc3339(int64_t epoch, char *buf, size_t size);
