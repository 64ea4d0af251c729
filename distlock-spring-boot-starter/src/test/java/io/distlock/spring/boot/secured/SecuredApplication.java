package io.distlock.spring.boot.secured;

import java.security.Principal;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;

import io.distlock.spring.boot.DistLockEndpointOptionsCustomizer;
import io.distlock.websocket.Authorizer;

/**
 * An application with Spring Security (form login with an HTTP session, and HTTP Basic) and an
 * {@link Authorizer} bean: a user may take only the locks named after them; and an option
 * without a property, set by a {@link DistLockEndpointOptionsCustomizer}.
 */
@SpringBootApplication
public class SecuredApplication {

    @Bean
    SecurityFilterChain security(HttpSecurity http) throws Exception {
        return http
                .authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
                .formLogin(Customizer.withDefaults())
                .httpBasic(Customizer.withDefaults())
                .csrf(csrf -> csrf.disable())
                .build();
    }

    @Bean
    UserDetailsService users() {
        return new InMemoryUserDetailsManager(
                User.withUsername("alice").password("{noop}alice-password").roles("USER").build(),
                User.withUsername("bob").password("{noop}bob-password").roles("USER").build());
    }

    @Bean
    Authorizer ownLocksOnly() {
        return (principal, lock) -> principal instanceof Principal user && lock.startsWith(user.getName() + "-");
    }

    /** Frames of at most 4 KiB (8 KiB by default), which no {@code distlock.*} property sets. */
    @Bean
    DistLockEndpointOptionsCustomizer smallFrames() {
        return options -> options.maxFrameBytes(4096);
    }
}
