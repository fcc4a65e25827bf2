{{/* Chart name, cut to 63 characters (a label value). */}}
{{- define "lathe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every resource: fullnameOverride, else the release name when it contains the
chart name, else "<release>-<chart>". Cut to 40 characters so that "-operator-leader-election"
still fits a 63-character name.
*/}}
{{- define "lathe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lathe.operatorName" -}}
{{- printf "%s-operator" (include "lathe.fullname" .) }}
{{- end }}

{{- define "lathe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "lathe.labels" -}}
helm.sh/chart: {{ include "lathe.chart" . }}
app.kubernetes.io/name: {{ include "lathe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lathe
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the operator pods (immutable once installed: keep them minimal). */}}
{{- define "lathe.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "lathe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "lathe.operatorLabels" -}}
{{ include "lathe.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "lathe.operatorServiceAccountName" -}}
{{- default (include "lathe.operatorName" .) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "lathe.leaseName" -}}
{{- default (include "lathe.operatorName" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/* "<registry>/<repository>[:<tag>][@<digest>]"; args: (dict "img" <image values> "root" $). */}}
{{- define "lathe.imageRef" -}}
{{- $img := .img }}
{{- $registry := default .root.Values.image.registry $img.registry | trimSuffix "/" }}
{{- $tag := default .root.Chart.AppVersion $img.tag | toString }}
{{- $ref := printf "%s/%s" $registry $img.repository }}
{{- if $img.digest }}
{{- printf "%s:%s@%s" $ref $tag $img.digest }}
{{- else }}
{{- printf "%s:%s" $ref $tag }}
{{- end }}
{{- end }}

{{/*
The namespaces that get the trainer and inference ServiceAccounts: trainingNamespaces plus every
namespace named in a roleArnByNamespace map, sorted and without duplicates. Output: a YAML list.
*/}}
{{- define "lathe.trainingNamespaces" -}}
{{- $ns := list }}
{{- range .Values.trainingNamespaces }}{{ $ns = append $ns . }}{{ end }}
{{- range $k, $_ := .Values.trainer.serviceAccount.roleArnByNamespace }}{{ $ns = append $ns $k }}{{ end }}
{{- range $k, $_ := .Values.inference.serviceAccount.roleArnByNamespace }}{{ $ns = append $ns $k }}{{ end }}
{{- if .Values.watchNamespace }}{{ $ns = append $ns .Values.watchNamespace }}{{ end }}
{{- toYaml (dict "namespaces" ($ns | uniq | sortAlpha)) }}
{{- end }}

{{/*
Kueue support on or off ("true"/"false"): kueue.enabled, or with "auto" whether the cluster serves
Kueue's v1beta2 API when the chart is rendered (helm install/upgrade, ArgoCD; `helm template` alone
sees no cluster, so "auto" is off there).
*/}}
{{- define "lathe.kueue" -}}
{{- $v := toString .Values.kueue.enabled -}}
{{- if eq $v "auto" -}}
{{- .Capabilities.APIVersions.Has "kueue.x-k8s.io/v1beta2" | toString -}}
{{- else -}}
{{- eq $v "true" | toString -}}
{{- end -}}
{{- end -}}

{{/*
Gateway API support on or off ("true"/"false"): gatewayApi.enabled, or with "auto" whether the
cluster serves the HTTPRoute API (gateway.networking.k8s.io/v1) when the chart is rendered.
*/}}
{{- define "lathe.gatewayApi" -}}
{{- $v := toString .Values.gatewayApi.enabled -}}
{{- if eq $v "auto" -}}
{{- .Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1/HTTPRoute" | toString -}}
{{- else -}}
{{- eq $v "true" | toString -}}
{{- end -}}
{{- end -}}

{{/*
The API server as NetworkPolicy peers: networkPolicy.apiServer.cidrs and ports, else the addresses
and ports of the `kubernetes` Service and its endpoints (policies are enforced on the translated
address by some CNIs, on the Service's by others: both are allowed). Output: YAML {cidrs, ports}.
*/}}
{{- define "lathe.apiServerPeers" -}}
{{- $api := .Values.networkPolicy.apiServer }}
{{- $cidrs := $api.cidrs }}
{{- $ports := $api.ports }}
{{- if not $cidrs }}
{{- $cidrs = list }}
{{- $found := list }}
{{- $svc := lookup "v1" "Service" "default" "kubernetes" }}
{{- if $svc }}
{{- $cidrs = append $cidrs (printf "%s/32" $svc.spec.clusterIP) }}
{{- range $svc.spec.ports }}{{ $found = append $found (int .port) }}{{ end }}
{{- end }}
{{- $ep := lookup "v1" "Endpoints" "default" "kubernetes" }}
{{- if $ep }}
{{- range $ep.subsets }}
{{- range .addresses }}{{ $cidrs = append $cidrs (ternary (printf "%s/128" .ip) (printf "%s/32" .ip) (contains ":" .ip)) }}{{ end }}
{{- range .ports }}{{ $found = append $found (int .port) }}{{ end }}
{{- end }}
{{- end }}
{{- if not $cidrs }}
{{- fail "networkPolicy.enabled: set networkPolicy.apiServer.cidrs (the kubernetes Service could not be looked up: helm template and Argo CD see no cluster; on EKS give the VPC CIDR)" }}
{{- end }}
{{- if not $ports }}{{ $ports = $found }}{{ end }}
{{- end }}
{{- if not $ports }}{{ $ports = list 443 }}{{ end }}
{{- toYaml (dict "cidrs" ($cidrs | uniq) "ports" ($ports | uniq)) }}
{{- end }}
